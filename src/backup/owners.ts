/**
 * Owners are not restored (the restore role cannot give objects away), but a backup whose owner
 * roles are missing on the scratch server would not restore with its owners either: each such
 * role is reported as the restore error a restore with owners would have made.
 */
import type { Connection } from './connection.js'
import type { RestoreError } from './restore.js'
import type { OwnerStatement } from './script-scan.js'
import { queryRows, quoteLiteral } from './sql.js'

/**
 * Pure: a restore error for each role the backup names as an owner that the scratch server
 * lacks, as a restore with owners would have failed (`no-owner` turns the check off).
 */
export function missingOwnerErrors(
  owners: Map<string, OwnerStatement>,
  existing: Set<string>
): RestoreError[] {
  return [...owners]
    .filter(([role]) => !existing.has(role))
    .map(([role, at]) => ({
      message: `role "${role}" does not exist (the backup makes it an owner)`,
      command: at.statement,
      sqlError: true
    }))
}

export async function ownerErrors(
  conn: Connection,
  owners: Map<string, OwnerStatement> | undefined
): Promise<RestoreError[]> {
  if (!owners?.size) return []
  const [found] = await queryRows<{ roles: string[] | null }>(
    conn,
    conn.adminDatabase,
    `SELECT array_agg(rolname::text) AS roles FROM pg_roles WHERE rolname = ANY (ARRAY[${[...owners.keys()].map(quoteLiteral).join(', ')}]::text[])`
  )
  return missingOwnerErrors(owners, new Set(found.roles ?? []))
}
