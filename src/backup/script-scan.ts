/**
 * A plain SQL "backup" is a psql script, so it is a program: this pre-scan reads it the way
 * psql's lexer does (quotes, dollar quotes, nested comments, COPY data blocks) and refuses what
 * reaches outside the scratch database before a single line runs: meta-commands (`\!`,
 * `\connect`, `\copy … program`, `\o |`, `\gexec`, `\setenv`, …) and statements that act on the
 * cluster or the server's files (roles, databases, ALTER SYSTEM, COPY … PROGRAM or a file).
 * psql's `\restrict` is the second lock on meta-commands; this one names the line. Pure.
 */

export interface ScriptFinding {
  line: number
  /** What was refused, with the statement's first words (never COPY data). */
  what: string
}

export interface ScriptScan {
  findings: ScriptFinding[]
  /** The dump's own `\restrict KEY` / `\unrestrict KEY` lines: blanked before psql reads them. */
  restrictLines: number[]
  /**
   * Lines that are one whole owner, grant or session-authorization statement (`ALTER … OWNER
   * TO`, `GRANT/REVOKE … ON`, `ALTER DEFAULT PRIVILEGES`, `SET SESSION AUTHORIZATION`): a plain
   * restore blanks them, as pg_restore's `--no-owner --no-acl` skips them, since the throwaway
   * role that restores cannot give objects away.
   */
  privilegeLines: number[]
  /** Each role named as an owner, with the first statement naming it (for the owner check). */
  owners: Map<string, OwnerStatement>
  /** Line of `-- PostgreSQL database dump complete` when nothing but comments follows it. */
  completeAt?: number
  /** The script ended inside a quote, comment, statement or COPY data. */
  endsInside?: string
  lines: number
}

export interface OwnerStatement {
  line: number
  statement: string
}

type State =
  | { kind: 'normal' }
  | { kind: 'squote'; escapes: boolean }
  | { kind: 'dquote' }
  | { kind: 'dollar'; tag: string }
  | { kind: 'comment'; depth: number }
  | { kind: 'copy' }

const COMPLETE = '-- PostgreSQL database dump complete'
const HEAD_CHARS = 2000
const TAIL_CHARS = 100
/** 1600 columns of 63 quoted bytes with their separators fit. */
const COPY_CHARS = 1_000_000

/** Statement heads that act outside the scratch database, and why each is refused. */
const REFUSED_STATEMENTS: [RegExp, string][] = [
  [/^(CREATE|ALTER|DROP) (ROLE|USER|GROUP)\b/, 'changes the cluster roles'],
  [/^(CREATE|ALTER|DROP) DATABASE\b/, 'acts on another database'],
  [/^(CREATE|ALTER|DROP) TABLESPACE\b/, 'changes the server file layout'],
  [/^ALTER SYSTEM\b/, 'changes the server configuration'],
  [/^REASSIGN OWNED\b|^DROP OWNED\b/, 'changes objects of other databases'],
  [/^LOAD\b/, 'loads a shared library into the server'],
  [/^(CREATE|ALTER|DROP) SUBSCRIPTION\b/, 'opens a connection from the server'],
  [/^DO\b/, 'runs anonymous code (pg_dump never writes DO)'],
  [/^GRANT (?!.*\bON\b)/, 'grants role membership'],
  [/^(GRANT|REVOKE) .*\bON DATABASE\b/, 'acts on a database'],
  [/^REVOKE (?!.*\bON\b)/, 'revokes role membership'],
  [/^CREATE (OR REPLACE )?(TRUSTED )?(PROCEDURAL )?LANGUAGE\b/, 'installs a language'],
  [
    /^CREATE (OR REPLACE )?(FUNCTION|PROCEDURE)\b.* LANGUAGE '?(C|INTERNAL|\w+U)'?\b/,
    'defines server code outside the sandbox (C or an untrusted language)'
  ],
  [
    /^CREATE EXTENSION (IF NOT EXISTS )?"?(ADMINPACK|DBLINK|FILE_FDW|POSTGRES_FDW|PL\w*U|LO)\b/,
    'installs an extension that reaches files, programs or other servers'
  ],
  [
    /^SET (SESSION )?STANDARD_CONFORMING_STRINGS (TO|=) (?!'?ON'?$)/,
    'turns backslash escapes on in strings (the scan reads standard strings)'
  ],
  [
    /^SET (SESSION )?CLIENT_ENCODING (TO|=) '?(SJIS|SHIFT_JIS_2004|BIG5|GBK|UHC|GB18030|JOHAB)'?/,
    'uses a client encoding whose bytes can hide a backslash'
  ],
  [
    /^(SET|RESET) (SESSION )?(SESSION_REPLICATION_ROLE|ALLOW_SYSTEM_TABLE_MODS)\b/,
    'disables server safety settings'
  ],
  [/^(INSERT|UPDATE|DELETE) (INTO |FROM )?PG_CATALOG\./, 'writes a system catalog']
]

/**
 * The calls a pg_dump script makes with SELECT, as the whole statement: one function of this
 * set with literal arguments only (a string, a number, true or false). Anything more after it
 * (`, lo_export(…)`) or inside it (`(SELECT …)`) is refused.
 */
const DUMP_FUNCTIONS =
  /^SELECT PG_CATALOG\.(SET_CONFIG|SETVAL|LO_CREATE|LO_OPEN|LO_CLOSE|LOWRITE|BINARY_UPGRADE_SET_\w+) ?\((?: ?(?:E?'…'|-?\d+|TRUE|FALSE) ?,?)*\)$/

/** pg_dump's COPY, as the whole statement: `COPY name (cols) FROM stdin` (no WHERE, PROGRAM, file). */
const DUMP_COPY = /^COPY [A-Z0-9_$"….]+(?: \([A-Z0-9_$"…, ]*\))? FROM STDIN$/

/** Extensions that reach files, programs or other servers (read inside quotes too). */
const DANGEROUS_EXTENSION = /^(ADMINPACK|DBLINK|FILE_FDW|POSTGRES_FDW|PL\w*U|LO)$/i
/** Languages outside the sandbox (read inside quotes too). */
const DANGEROUS_LANGUAGE = /^(C|INTERNAL|\w+U)$/i

/** The text of the quoted name at `at` in a normalised statement (`"…"` stands for each). */
function quotedAt(head: string, at: number, quoted: string[]): string | undefined {
  return quoted[head.slice(0, at).split('"…"').length - 1]
}

/**
 * Pure: why a statement is refused, if it is. `head` is its start and `tail` its end, words
 * upper-cased, whitespace as one space, literals as `'…'` and quoted names as `"…"` (so no name
 * or string can look like a keyword).
 */
export function refuseStatement(
  head: string,
  tail = head,
  quoted: string[] = []
): string | undefined {
  for (const [pattern, why] of REFUSED_STATEMENTS) if (pattern.test(head)) return why
  // A quoted or unicode-escaped name is read for what it is: `"dblink"`, `U&"d\0062link"`.
  const ext = /^CREATE EXTENSION (?:IF NOT EXISTS )?(U&)?"…"/.exec(head)
  if (ext && (ext[1] || DANGEROUS_EXTENSION.test(quotedAt(head, ext[0].length - 3, quoted) ?? '')))
    return 'installs an extension that reaches files, programs or other servers'
  if (/^CREATE (OR REPLACE )?(FUNCTION|PROCEDURE)\b/.test(head)) {
    const lang = / LANGUAGE (U&)?"…"/.exec(head)
    const name = lang ? quotedAt(head, lang.index + lang[0].length - 3, quoted) : undefined
    if (lang && (lang[1] || DANGEROUS_LANGUAGE.test(name ?? '')))
      return 'defines server code outside the sandbox (C or an untrusted language)'
  }
  // pg_dump's form, the whole statement: `COPY t (cols) FROM stdin` (no WHERE, no PROGRAM).
  if (/^COPY\b/.test(head) && (head !== tail || !DUMP_COPY.test(head)))
    return 'reads or writes a server file, runs a program or a query (only `COPY table FROM stdin` is restored)'
  if (/^(SELECT|CALL|EXECUTE|WITH|VALUES|TABLE)\b/.test(head) && !DUMP_FUNCTIONS.test(head))
    return 'runs a query pg_dump does not write (only set_config, setval and large-object writes)'
  return undefined
}

/** Heads (normalised, see refuseStatement) of the statements a restore without owners skips. */
const PRIVILEGE_STATEMENT =
  /^(ALTER [A-Z ]+ .+ OWNER TO \S+|(GRANT|REVOKE) .* ON .*|ALTER DEFAULT PRIVILEGES .*|(SET|RESET) SESSION AUTHORIZATION\b.*)$/

/** Pure: the role a one-line owner statement names (pg_dump quotes it as an identifier). */
export function ownerOf(line: string): string | undefined {
  const owner = /\bOWNER TO ("(?:[^"]|"")+"|[^\s";]+);$/.exec(line)
  const auth = /^SET SESSION AUTHORIZATION '((?:[^']|'')+)';$/.exec(line)
  if (auth) return auth[1].replace(/''/g, "'")
  if (!owner) return undefined
  const name = owner[1]
  if (name.startsWith('"')) return name.slice(1, -1).replace(/""/g, '"')
  const word = name.toLowerCase()
  return ['current_user', 'session_user', 'current_role'].includes(word) ? undefined : word
}

const shorten = (s: string): string => (s.length > 80 ? `${s.slice(0, 80)}…` : s)

/** Streaming: feed every line in order with `line()`, then `finish()`. */
export class ScriptScanner {
  private state: State = { kind: 'normal' }
  /** The first and last characters of the statement being read, normalised (see refuseStatement). */
  private head = ''
  private tail = ''
  private headLine = 0
  /** The statement's quoted names, in order (the normalised text has `"…"` for each). */
  private quoted: string[] = []
  private quoting = ''
  /** The statement is longer than the head keeps. */
  private cut = false
  private n = 0
  private copyPending = false
  /** Statements that ended on the line being read, with their head and whether refused. */
  private ended: { head: string; refused: boolean }[] = []
  private result: ScriptScan = {
    findings: [],
    restrictLines: [],
    privilegeLines: [],
    owners: new Map(),
    lines: 0
  }

  line(text: string): void {
    this.n++
    if (this.state.kind === 'copy') {
      if (text === '\\.') this.state = { kind: 'normal' }
      return
    }
    if (this.result.completeAt !== undefined && !/^\s*(--.*)?$/.test(text)) {
      if (!this.restrictLine(text)) this.result.completeAt = undefined
    }
    if (this.state.kind === 'normal' && this.head === '' && text === COMPLETE) {
      this.result.completeAt = this.n
      return
    }
    if (this.state.kind === 'normal' && this.head === '' && this.restrictLine(text)) {
      this.result.restrictLines.push(this.n)
      return
    }
    const fresh = this.state.kind === 'normal' && this.head.trim() === ''
    this.ended = []
    this.scan(text)
    this.word(' ')
    if (fresh) this.privilegeLine(text)
  }

  /**
   * Only a line that is exactly one statement, begun and ended in the normal state, is ever
   * blanked: blanking anything more could change how psql reads the lines after it.
   */
  private privilegeLine(text: string): void {
    if (this.ended.length !== 1 || this.ended[0].refused) return
    if (this.state.kind !== 'normal' || this.head.trim() !== '' || !/;$/.test(text)) return
    if (!PRIVILEGE_STATEMENT.test(this.ended[0].head)) return
    this.result.privilegeLines.push(this.n)
    const role = ownerOf(text)
    if (role && !this.result.owners.has(role) && this.result.owners.size < 1000)
      this.result.owners.set(role, { line: this.n, statement: shorten(text) })
  }

  private restrictLine(text: string): boolean {
    return /^\\(un)?restrict [A-Za-z0-9]+$/.test(text)
  }

  private refuse(what: string, line = this.n): void {
    if (this.result.findings.length < 50) this.result.findings.push({ line, what })
  }

  private word(text: string): void {
    const space = /^\s$/.test(text)
    if (space && (this.tail === '' || this.tail.endsWith(' '))) return
    if (this.head === '') this.headLine = this.n
    const add = space ? ' ' : text
    // pg_dump's COPY names every column: its head is kept whole (up to COPY_CHARS) to be read whole.
    const limit = this.head.startsWith('COPY ') ? COPY_CHARS : HEAD_CHARS
    if (this.head.length < limit) this.head += add
    else this.cut = true
    this.tail = (this.tail + add).slice(-TAIL_CHARS)
  }

  private endStatement(): void {
    const head = this.head.trim()
    // A statement longer than its head is compared by its head and tail only.
    const tail = this.cut ? this.tail.trim() : head
    const quoted = this.quoted
    this.head = ''
    this.tail = ''
    this.cut = false
    this.quoted = []
    if (!head) return
    const why = refuseStatement(head, tail, quoted)
    if (why) this.refuse(`\`${shorten(head)}\`: ${why}`, this.headLine)
    this.ended.push({ head, refused: why !== undefined })
    this.copyPending = !why && /^COPY\b/.test(head) && / FROM STDIN$/.test(tail)
  }

  private scan(text: string): void {
    let i = 0
    while (i < text.length) {
      const s = this.state
      const ch = text[i]
      if (s.kind === 'squote') {
        if (s.escapes && ch === '\\') i += 2
        else if (ch === "'" && text[i + 1] === "'") i += 2
        else {
          if (ch === "'") this.state = { kind: 'normal' }
          i++
        }
        continue
      }
      if (s.kind === 'dquote') {
        if (ch === '"' && text[i + 1] === '"') {
          this.quoting += '"'
          i += 2
        } else {
          if (ch === '"') {
            this.state = { kind: 'normal' }
            if (this.quoted.length < 100) this.quoted.push(this.quoting)
            this.quoting = ''
          } else this.quoting += ch
          i++
        }
        continue
      }
      if (s.kind === 'dollar') {
        const end = text.indexOf(s.tag, i)
        if (end < 0) return
        this.state = { kind: 'normal' }
        i = end + s.tag.length
        continue
      }
      if (s.kind === 'comment') {
        if (ch === '*' && text[i + 1] === '/') {
          this.state = s.depth > 1 ? { kind: 'comment', depth: s.depth - 1 } : { kind: 'normal' }
          i += 2
        } else if (ch === '/' && text[i + 1] === '*') {
          this.state = { kind: 'comment', depth: s.depth + 1 }
          i += 2
        } else i++
        continue
      }
      i = this.scanNormal(text, i)
      if (this.state.kind === 'copy') return
    }
  }

  /** One token in the normal state; returns the index after it. */
  private scanNormal(text: string, i: number): number {
    const ch = text[i]
    const rest = text.slice(i)
    if (rest.startsWith('--')) return text.length
    if (rest.startsWith('/*')) {
      // The server reads a comment as a space: `ALTER/**/SYSTEM` is ALTER SYSTEM.
      this.word(' ')
      this.state = { kind: 'comment', depth: 1 }
      return i + 2
    }
    if (ch === '\\') {
      // psql runs a backslash outside quotes as a meta-command up to the end of the line.
      const name = /^\\([A-Za-z]+|[!?.;\\]|)/.exec(rest)?.[1] ?? ''
      this.refuse(`psql meta-command \`\\${shorten(name)}\`: a backup may not run psql commands`)
      return text.length
    }
    if (ch === ':' && text[i - 1] !== ':' && /^:(['"]|\{\?|[A-Za-z_\u0080-\uffff])/.test(rest)) {
      // psql replaces `:name`, `:'name'`, `:"name"` with a variable and reads the value as script
      // text: `:LAST_ERROR_MESSAGE` brings back whatever an error message quoted (`\restrict`
      // does not stop it). pg_dump never writes one outside quotes.
      this.refuse(
        `psql variable \`${shorten(/^:\S*/.exec(rest)?.[0] ?? ':')}\`: a backup may not use psql variables`
      )
      return text.length
    }
    if (ch === "'") {
      const escapes = /[Ee]$/.test(text.slice(0, i)) && !/[\w$]$/.test(text.slice(0, i - 1))
      this.state = { kind: 'squote', escapes }
      this.word("'…'")
      return i + 1
    }
    if (ch === '"') {
      this.state = { kind: 'dquote' }
      this.word('"…"')
      return i + 1
    }
    const dollar = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(rest)
    if (dollar && !/[\w$]$/.test(text.slice(0, i))) {
      this.state = { kind: 'dollar', tag: dollar[0] }
      this.word("'…'")
      return i + dollar[0].length
    }
    if (ch === ';') {
      this.endStatement()
      if (this.copyPending) {
        this.copyPending = false
        if (text.slice(i + 1).trim()) this.refuse('text after `COPY … FROM stdin;` on its line')
        this.state = { kind: 'copy' }
        return text.length
      }
      return i + 1
    }
    this.word(ch.toUpperCase())
    return i + 1
  }

  finish(): ScriptScan {
    const s = this.state
    const inside: Record<State['kind'], string | undefined> = {
      normal: this.head.trim() ? `a statement (\`${shorten(this.head.trim())}\`)` : undefined,
      squote: 'a quoted string',
      dquote: 'a quoted name',
      dollar: 'a dollar-quoted body',
      comment: 'a comment',
      copy: 'COPY data (no `\\.` end marker)'
    }
    this.result.endsInside = inside[s.kind]
    this.result.lines = this.n
    return this.result
  }
}

/** Pure, for tests and small scripts: scans a whole script. */
export function scanScript(text: string): ScriptScan {
  const scanner = new ScriptScanner()
  const lines = text.split('\n')
  if (lines.at(-1) === '') lines.pop()
  for (const line of lines) scanner.line(line)
  return scanner.finish()
}
