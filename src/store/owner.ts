import { chmod, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Written into an embedded store directory by the process that owns it, so other commands go through it. */
export interface StoreOwner {
  pid: number
  /** base URL of the owner's admin API (POST /_hopwatch/sql) */
  admin_url: string
  /** the bearer token the admin API requires: whoever can read this file (mode 0600) may query the store */
  admin_token: string
  started_us: number
}

const FILE = 'hopwatch-owner.json'

export async function writeOwner(dir: string, owner: StoreOwner): Promise<void> {
  const path = join(dir, FILE)
  // the token in it is a credential: only the owner's user may read it (the mode of a file that existed is reset)
  await writeFile(path, `${JSON.stringify(owner)}\n`, { mode: 0o600 })
  await chmod(path, 0o600)
}

export async function removeOwner(dir: string): Promise<void> {
  await rm(join(dir, FILE), { force: true })
}

/** The owner, if its file exists and its process is alive. */
export async function readOwner(dir: string): Promise<StoreOwner | undefined> {
  let owner: StoreOwner
  try {
    owner = JSON.parse(await readFile(join(dir, FILE), 'utf8')) as StoreOwner
  } catch {
    return undefined
  }
  try {
    process.kill(owner.pid, 0)
    return owner
  } catch (err) {
    return (err as { code?: string }).code === 'EPERM' ? owner : undefined
  }
}

/**
 * The owner, if its process is alive and its admin API answers within `timeoutMs`: a process that owns the directory
 * and can be reached through it (hopwatch sql, analyze and load go through it; nothing else may open the directory).
 */
export async function liveOwner(dir: string, timeoutMs = 5000): Promise<StoreOwner | undefined> {
  const owner = await readOwner(dir)
  if (owner === undefined) return undefined
  const answering = await fetch(`${owner.admin_url}/healthz`, { signal: AbortSignal.timeout(timeoutMs) }).then((r) => r.ok, () => false)
  return answering ? owner : undefined
}
