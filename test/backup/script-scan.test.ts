/** The plain-SQL pre-scan: what it refuses, and what a real pg_dump script needs it to let through. */
import { describe, expect, it } from '@jest/globals'
import { ownerOf, refuseStatement, scanScript } from '../../src/backup/script-scan.js'

const lines = (s: string): number[] => scanScript(s).findings.map((f) => f.line)

describe('refused, naming the line', () => {
  it.each([
    ['shell escape', 'SET a = 1;\n\\! touch /tmp/x\n', 2],
    ['connect', '\\connect postgres\n', 1],
    ['short connect', '\\c postgres\n', 1],
    ['copy to a program', "\\copy t to program 'sh'\n", 1],
    ['output to a pipe', '\\o | sh\n', 1],
    ['gexec after a query', "SELECT 'DROP TABLE x' \\gexec\n", 1],
    ['setenv', '\\setenv PGHOST x\n', 1],
    ['include a file', '\\i /etc/passwd\n', 1],
    ['meta-command after a statement on the line', 'SET a = 1; \\! id\n', 1],
    ['server COPY to a program', "COPY t TO PROGRAM 'sh -c id';\n", 1],
    ['server COPY from a file', "COPY t FROM '/etc/passwd';\n", 1],
    ['COPY of a query', 'COPY (SELECT 1) TO STDOUT;\n', 1],
    ['COPY where a column is named like stdin', 'COPY t ("FROM STDIN") FROM PROGRAM \'x\';\n', 1],
    ['create database', 'CREATE DATABASE prod;\n', 1],
    ['drop database', 'SET x = 1;\ndrop   database\n  prod;\n', 2],
    ['alter role', "ALTER ROLE postgres PASSWORD 'x';\n", 1],
    ['create user', 'create user evil superuser;\n', 1],
    ['drop role', 'DROP ROLE app;\n', 1],
    ['alter system', "ALTER SYSTEM SET archive_command = 'sh';\n", 1],
    ['alter system through a comment', "ALTER/**/SYSTEM SET x = 'y';\n", 1],
    ['role membership', 'GRANT pg_execute_server_program TO app;\n', 1],
    ['anonymous code', "DO $$BEGIN EXECUTE 'ALTER SYSTEM RESET ALL'; END$$;\n", 1],
    ['a query calling user code', 'SELECT evil();\n', 1],
    ['C function', "CREATE FUNCTION f() RETURNS int AS '/tmp/x.so', 'f' LANGUAGE c;\n", 1],
    ['untrusted language', 'CREATE FUNCTION f() RETURNS int LANGUAGE plpython3u AS $$x$$;\n', 1],
    ['dblink', 'CREATE EXTENSION IF NOT EXISTS dblink WITH SCHEMA public;\n', 1],
    ['escape strings off', 'SET standard_conforming_strings = off;\n', 1],
    ['catalog write', 'UPDATE pg_catalog.pg_authid SET rolsuper = true;\n', 1],
    [
      'a dump function first, then any call (atk16)',
      "SELECT pg_catalog.set_config('search_path', '', false), pg_catalog.lo_export(4242, '/tmp/x');\n",
      1
    ],
    [
      'a dump function with a call inside it (atk16)',
      "SELECT pg_catalog.setval('s', (SELECT pg_catalog.pg_read_file('/etc/passwd')::int), true);\n",
      1
    ],
    [
      'COPY FROM PROGRAM whose WHERE ends in a column named stdin (atk16)',
      "COPY public.t (stdin) FROM PROGRAM 'touch /tmp/x' WHERE 1 IS DISTINCT FROM stdin;\n",
      1
    ],
    [
      'COPY FROM stdin with a WHERE (atk16)',
      'COPY t FROM stdin WHERE stdin > 0 OR 1 = stdin;\n',
      1
    ],
    ['a quoted dblink (atk16)', 'CREATE EXTENSION "dblink" SCHEMA public;\n', 1],
    ['a unicode-escaped dblink (atk16)', 'CREATE EXTENSION U&"d\\0062link";\n', 1],
    [
      'a quoted C language (atk16)',
      "CREATE FUNCTION f() RETURNS int AS '/tmp/x.so', 'f' LANGUAGE \"c\";\n",
      1
    ],
    ['a psql variable (atk16)', ':LAST_ERROR_MESSAGE;\n', 1],
    ['a quoted psql variable (atk16)', "CREATE TABLE t (a text DEFAULT :'USER');\n", 1],
    ['a psql variable test (atk16)', 'CREATE TABLE t (a int DEFAULT :{?x});\n', 1],
    [
      'a quoted untrusted language (atk16)',
      'CREATE FUNCTION f() RETURNS int LANGUAGE "plpython3u" AS $$x$$;\n',
      1
    ]
  ])('%s', (_, script, line) => {
    expect(lines(script)).toEqual([line])
  })
})

describe('not refused: text that only looks like a command', () => {
  it.each([
    [
      'COPY data',
      'COPY public.t (id, v) FROM stdin;\n1\t\\! rm -rf /\n2\tCREATE DATABASE x;\n\\.\n'
    ],
    ['a string', "INSERT INTO t VALUES ('\\! x; ALTER SYSTEM SET a = b');\n"],
    ['a doubled quote', "INSERT INTO t VALUES ('it''s \\! x');\n"],
    ['an escape string', "INSERT INTO t VALUES (E'\\' \\! x');\n"],
    [
      'a dollar-quoted body over lines',
      'CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $body$\nBEGIN\n-- \\! not here\nRAISE NOTICE $$ALTER SYSTEM$$;\nRETURN 1; END\n$body$;\n'
    ],
    [
      'a nested comment',
      "/* a /* nested \\! */ still ; ALTER SYSTEM */ SELECT pg_catalog.set_config('a', '', false);\n"
    ],
    ['a line comment', '-- \\! touch x; CREATE DATABASE y\nSET a = 1;\n'],
    ['a quoted name', 'CREATE TABLE "ALTER SYSTEM \\!" (id int);\n'],
    [
      'casts and slices (atk16)',
      "CREATE VIEW v AS SELECT 'a'::text AS a, (ARRAY[1, 2])[1:2] AS b;\n"
    ],
    [
      'a quoted safe extension (atk16)',
      'CREATE EXTENSION IF NOT EXISTS "uuid-ossp" WITH SCHEMA public;\n'
    ],
    [
      'large-object writes as pg_dump writes them (atk16)',
      "SELECT pg_catalog.lo_open('16385', 131072);\nSELECT pg_catalog.lowrite(0, '\\x00ff');\nSELECT pg_catalog.lo_close(0);\n"
    ],
    [
      'grants on objects',
      'GRANT SELECT ON TABLE public.t TO app;\nREVOKE ALL ON SCHEMA public FROM PUBLIC;\n'
    ],
    [
      'large objects',
      "SELECT pg_catalog.lo_open('16390', 131072);\nSELECT pg_catalog.lowrite(0, '\\x68');\n"
    ],
    ['a name with dollars', 'CREATE TABLE a$b$c (id int);\n']
  ])('%s', (_, script) => {
    expect(scanScript(script).findings).toEqual([])
  })
})

describe('structure', () => {
  const dump = [
    '-- PostgreSQL database dump',
    '\\restrict X5enuOP7TjGA',
    "SELECT pg_catalog.set_config('search_path', '', false);",
    'COPY public.t (id, v) FROM stdin;',
    '1\ta',
    '\\.',
    '-- PostgreSQL database dump complete',
    '\\unrestrict X5enuOP7TjGA',
    ''
  ].join('\n')

  it('a whole dump: complete, its own \\restrict lines are set aside, nothing refused', () => {
    expect(scanScript(dump)).toEqual({
      findings: [],
      restrictLines: [2, 8],
      privilegeLines: [],
      owners: new Map(),
      completeAt: 7,
      endsInside: undefined,
      lines: 8
    })
  })

  it.each([
    [
      'cut inside COPY data',
      dump.split('\n').slice(0, 5).join('\n'),
      'COPY data (no `\\.` end marker)'
    ],
    [
      'cut inside a statement',
      'CREATE TABLE t (\n id int',
      'a statement (`CREATE TABLE T ( ID INT`)'
    ],
    ['cut inside a body', 'CREATE FUNCTION f() AS $$\nbegin', 'a dollar-quoted body'],
    ['cut inside a string', "INSERT INTO t VALUES ('abc", 'a quoted string']
  ])('%s', (_, script, inside) => {
    const scan = scanScript(script)
    expect(scan.endsInside).toBe(inside)
    expect(scan.completeAt).toBeUndefined()
  })

  it('a marker followed by more SQL is not a completion marker', () => {
    expect(scanScript(`${dump}CREATE TABLE late (id int);\n`).completeAt).toBeUndefined()
  })

  it('a marker inside COPY data is data', () => {
    const script = 'COPY t (v) FROM stdin;\n-- PostgreSQL database dump complete\n'
    expect(scanScript(script).completeAt).toBeUndefined()
  })
})

describe('refuseStatement', () => {
  it.each([
    ['COPY PUBLIC.T (ID, V) FROM STDIN', undefined],
    ['COPY "…"."…" ("…") FROM STDIN', undefined],
    ["SELECT PG_CATALOG.SETVAL('…', 1, TRUE)", undefined],
    ['SET ROW_SECURITY = OFF', undefined],
    ['ALTER TABLE PUBLIC.T OWNER TO POSTGRES', undefined],
    ["COPY T FROM PROGRAM '…'", 'only `COPY table FROM stdin`'],
    ['ALTER DATABASE X OWNER TO Y', 'another database']
  ])('%s', (head, why) => {
    const found = refuseStatement(head)
    if (why === undefined) expect(found).toBeUndefined()
    else expect(found).toContain(why)
  })
})

describe('owner and grant lines: blanked for the unprivileged restore role, owners kept for the check', () => {
  it.each([
    ['ALTER TABLE public.haunted OWNER TO ghost;', [1], 'ghost'],
    ['ALTER FUNCTION public.f(integer) OWNER TO "app owner";', [1], 'app owner'],
    ['ALTER TABLE "a;b".t OWNER TO "x""y";', [1], 'x"y'],
    ["SET SESSION AUTHORIZATION 'bob';", [1], 'bob'],
    ['GRANT SELECT ON TABLE public.x TO reader;', [1], undefined],
    ['REVOKE ALL ON SCHEMA public FROM PUBLIC;', [1], undefined],
    ['ALTER DEFAULT PRIVILEGES FOR ROLE postgres GRANT SELECT ON TABLES TO r;', [1], undefined],
    // Two statements on one line, or one over two lines: never blanked (psql would read what
    // follows differently); the owner statement then fails at restore, it does not vanish.
    ['CREATE TABLE a (b int); ALTER TABLE a OWNER TO y;', [], undefined],
    ['ALTER TABLE a\n OWNER TO y;', [], undefined],
    // A line inside a dollar-quoted body is not a statement.
    ['SELECT $$\nALTER TABLE z OWNER TO w;\n$$;', [], undefined],
    [
      "CREATE FUNCTION f() RETURNS int AS 'x'\nLANGUAGE sql; ALTER TABLE t OWNER TO y;",
      [],
      undefined
    ],
    // Refused statements are reported, never blanked away.
    ['GRANT pg_execute_server_program TO public;', [], undefined],
    ['GRANT ALL ON DATABASE postgres TO x;', [], undefined],
    ['ALTER TABLE t OWNER TO current_user;', [1], undefined]
  ])('%s', (script, blanked, owner) => {
    const scan = scanScript(`${script}\n`)
    expect(scan.privilegeLines).toEqual(blanked)
    expect([...scan.owners.keys()]).toEqual(owner ? [owner] : [])
  })

  it.each([
    ['ALTER TABLE t OWNER TO Ghost;', 'ghost'],
    ['ALTER TABLE t OWNER TO "Ghost";', 'Ghost'],
    ['ALTER TABLE t OWNER TO ghost', undefined],
    ["SET SESSION AUTHORIZATION 'o''neil';", "o'neil"]
  ])('ownerOf(%s)', (line, role) => {
    expect(ownerOf(line)).toBe(role)
  })
})
