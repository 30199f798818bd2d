import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../../bin/hopwatch.js', import.meta.url))

export interface Finished {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs the real CLI to completion. */
export function hopwatch(args: string[], cwd?: string): Promise<Finished> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Starts a long-running CLI command and resolves once its stdout matches `ready`. */
export function startHopwatch(args: string[], ready: RegExp, cwd?: string): Promise<{ child: ChildProcess; match: RegExpMatchArray; output: () => { stdout: string; stderr: string }; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    const exited = new Promise<number | null>((r) => child.on('close', r))
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.on('data', (d) => {
      stdout += d
      const match = ready.exec(stdout)
      if (match !== null) resolve({ child, match, output: () => ({ stdout, stderr }), exited })
    })
    void exited.then((code) => reject(new Error(`hopwatch ${args[0]} exited with ${code} before it was ready:\n${stdout}\n${stderr}`)))
  })
}
