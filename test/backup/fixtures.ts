/** A generated shop database, its dumps in every format (real pg_dump), and a fake ActionIO. */
import { execFile } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import type { ActionIO } from '../../src/core/action.js'
import { Inputs } from '../../src/core/inputs.js'
import { runContextFromEnv } from '../../src/core/run-context.js'
import type { Postgres } from '../../lab/services/postgres.js'

const execFileAsync = promisify(execFile)

export const SHOP_SQL = [
  `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL)`,
  `CREATE TABLE orders (id bigint PRIMARY KEY, customer_id int REFERENCES customers(id), amount numeric(10,2), note text)`,
  `CREATE TABLE empty_audit (id serial PRIMARY KEY, at timestamptz DEFAULT now())`,
  `CREATE INDEX orders_customer ON orders (customer_id)`,
  `CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 900`,
  `INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 200) g`,
  `CREATE SCHEMA "Sales Dept"`,
  `CREATE TABLE "Sales Dept"."Big Orders" (id int)`,
  `INSERT INTO "Sales Dept"."Big Orders" VALUES (1), (2)`,
  `CREATE TABLE readings (id int, at date) PARTITION BY RANGE (at)`,
  `CREATE TABLE readings_2024 PARTITION OF readings FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')`,
  `CREATE TABLE readings_2025 PARTITION OF readings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')`,
  `INSERT INTO readings VALUES (1, '2024-03-01'), (2, '2024-04-01'), (3, '2024-05-01'), (4, '2025-01-02'), (5, '2025-02-03')`,
  `INSERT INTO orders SELECT g, 1 + g % 200, (g % 1000) + 0.5, md5(g::text) || md5((g * 7)::text) FROM generate_series(1, 5000) g`
]

/**
 * Rows per table holding data; a schema and table with spaces check that names survive the TOC
 * listing. `readings` is partitioned: a table more, no rows of its own.
 */
export const SHOP_TABLES = {
  customers: 200,
  orders: 5000,
  empty_audit: 0,
  'Sales Dept.Big Orders': 2,
  readings_2024: 3,
  readings_2025: 2
}
export const SHOP_TABLE_COUNT = Object.keys(SHOP_TABLES).length + 1

export async function createShop(pg: Postgres, database: string): Promise<void> {
  await pg.psql(`CREATE DATABASE ${database}`)
  for (const sql of SHOP_SQL) await pg.psql(sql, database)
}

/** A database with a table owned by a role that is dropped after the dump. */
export async function dumpWithMissingOwner(pg: Postgres, dir: string): Promise<string> {
  await pg.psql('CREATE ROLE ghost')
  await pg.psql('CREATE DATABASE ghostdb')
  await pg.psql(
    'CREATE TABLE haunted (id int); INSERT INTO haunted VALUES (1); ALTER TABLE haunted OWNER TO ghost',
    'ghostdb'
  )
  const file = join(dir, 'ghost.dump')
  await pgDump(pg, 'ghostdb', ['-Fc', '-f', file])
  await pg.psql('DROP DATABASE ghostdb')
  await pg.psql('DROP ROLE ghost')
  return file
}

/** pg_dump writes its local wall time into archives: `tz` is the zone the dump is made in. */
export async function pgDump(
  pg: Postgres,
  database: string,
  args: string[],
  tz = 'UTC'
): Promise<void> {
  await execFileAsync('pg_dump', [...args, database], {
    env: { ...process.env, ...pg.env, TZ: tz }
  })
}

export interface Dumps {
  custom: string
  directory: string
  tar: string
  plain: string
  plainGz: string
}

export async function dumpInEveryFormat(
  pg: Postgres,
  database: string,
  dir: string
): Promise<Dumps> {
  const dumps: Dumps = {
    custom: join(dir, 'shop.dump'),
    directory: join(dir, 'shop.dir'),
    tar: join(dir, 'shop.tar'),
    plain: join(dir, 'shop.sql'),
    plainGz: join(dir, 'shop.sql.gz')
  }
  await pgDump(pg, database, ['-Fc', '-f', dumps.custom])
  await pgDump(pg, database, ['-Fd', '-f', dumps.directory])
  await pgDump(pg, database, ['-Ft', '-f', dumps.tar])
  await pgDump(pg, database, ['-Fp', '-f', dumps.plain])
  writeFileSync(dumps.plainGz, gzipSync(readFileSync(dumps.plain)))
  return dumps
}

export interface FakeRun {
  io: ActionIO
  outputs: Record<string, string>
  summary: string[]
}

/** The action's inputs as a test gives them (action.yml defaults apply through run()'s fallbacks). */
export function fakeIO(inputs: Record<string, string>): FakeRun {
  const outputs: Record<string, string> = {}
  const summary: string[] = []
  const io: ActionIO = {
    inputs: new Inputs((name) => inputs[name] ?? ''),
    context: runContextFromEnv({}),
    setOutput: (name, value) => {
      outputs[name] = String(value)
    },
    writeSummary: async (markdown) => {
      summary.push(markdown)
    },
    saveState: () => undefined,
    getState: () => ''
  }
  return { io, outputs, summary }
}

/** Scratch databases left on the server (must be none after every run). */
export async function scratchDatabases(pg: Postgres): Promise<string[]> {
  const out = await pg.psql(`SELECT datname FROM pg_database WHERE datname LIKE 'backup_verify_%'`)
  return out.split('\n').filter(Boolean)
}
