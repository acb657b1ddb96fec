// Table test of the pure pg_restore --list reader, line by line (the whole real listing is read
// in parse.test.ts). Lines are in pg_restore 15's format: `<id>; <catalog oid> <oid> <desc>
// <schema> <name> <owner>`, single spaces, no quoting.
import { describe, expect, test } from '@jest/globals'
import { delimitedNames, parseTocListing, tablesWithData } from '../../src/backup/toc.js'

const SCHEMA_LINE = '6; 2615 16417 SCHEMA - Sales Dept postgres'

describe('pg_restore --list entries', () => {
  test.each([
    ['3367; 0 16385 TABLE DATA public customers postgres', 'TABLE DATA', 'public', 'customers'],
    ['215; 1259 16385 TABLE public customers postgres', 'TABLE', 'public', 'customers'],
    // multi-word kinds are not read as kind `MATERIALIZED` + schema `VIEW`
    [
      '3400; 0 16500 MATERIALIZED VIEW DATA public daily app',
      'MATERIALIZED VIEW DATA',
      'public',
      'daily'
    ],
    [
      '3378; 0 0 SEQUENCE OWNED BY public empty_audit_id_seq postgres',
      'SEQUENCE OWNED BY',
      'public',
      'empty_audit_id_seq'
    ],
    [
      '3217; 2606 16391 CONSTRAINT public customers customers_pkey postgres',
      'CONSTRAINT',
      'public',
      'customers customers_pkey'
    ],
    [
      '3219; 2606 16393 FK CONSTRAINT public orders orders_fk postgres',
      'FK CONSTRAINT',
      'public',
      'orders orders_fk'
    ],
    // a schema with a space, known from its SCHEMA entry: the longest known schema prefix wins
    [
      '3371; 0 16418 TABLE DATA Sales Dept Big Orders postgres',
      'TABLE DATA',
      'Sales Dept',
      'Big Orders'
    ],
    // an unknown schema: its first word
    ['3372; 0 16419 TABLE DATA audit events postgres', 'TABLE DATA', 'audit', 'events']
  ])('%s', (line, desc, schema, name) => {
    const toc = parseTocListing(`;\n${SCHEMA_LINE}\n${line}\n`)
    expect(toc.entries.at(-1)).toEqual({ desc, schema, name })
  })

  test.each([
    ['a comment line', '; 3367; 0 16385 TABLE DATA public customers postgres'],
    ['an empty line', ''],
    ['a line without the ids', 'TABLE DATA public customers postgres'],
    ['a truncated line', '3367; 0 16385']
  ])('%s is not an entry', (_what, line) => {
    expect(parseTocListing(line).entries).toEqual([])
  })

  test('names delimited by --schema-only comments win over the space-separated guess', () => {
    const script =
      '-- Name: Big Orders 2; Type: TABLE; Schema: Sales; Owner: data team\n' +
      '-- Name: x; Type: INDEX; Schema: public; Owner: postgres\n'
    const exact = delimitedNames(script)
    expect([...exact.keys()]).toEqual(['Sales Big Orders 2 data team'])
    const toc = parseTocListing('3371; 0 16418 TABLE DATA Sales Big Orders 2 data team\n', exact)
    expect(tablesWithData(toc)).toEqual([{ schema: 'Sales', name: 'Big Orders 2' }])
    // without them, the owner's second word is read into the name: why they are read at all
    expect(
      tablesWithData(parseTocListing('3371; 0 16418 TABLE DATA Sales Big Orders 2 data team\n'))
    ).toEqual([{ schema: 'Sales', name: 'Big Orders 2 data' }])
  })
})
