/** A parsed `WWW-Authenticate` header: `Basic realm="…"` or `Bearer realm="…",service="…",scope="…"`. */
export interface Challenge {
  scheme: 'basic' | 'bearer'
  params: Record<string, string>
}

export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined
  const m = /^\s*(Basic|Bearer)\b(.*)$/i.exec(header)
  if (!m) return undefined
  const params: Record<string, string> = {}
  for (const p of m[2].matchAll(/([A-Za-z_]+)\s*=\s*(?:"([^"]*)"|([^\s,]+))/g))
    params[p[1].toLowerCase()] = p[2] ?? p[3]
  return { scheme: m[1].toLowerCase() as Challenge['scheme'], params }
}

export interface Credentials {
  username: string
  password: string
}

export function basicHeader(creds: Credentials): string {
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`
}
