import { existsSync } from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Debian's chromium (scripts/ensure-test-deps.mjs installs it); playwright-core drives it over the DevTools protocol. */
export const CHROMIUM_BIN = process.env.HOPWATCH_CHROMIUM ?? '/usr/bin/chromium'

/** Headless Chromium for a test; close it in `after`. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_BIN)) throw new Error(`${CHROMIUM_BIN} is missing: run \`node scripts/ensure-test-deps.mjs\` (as root) or \`npm test\`, which installs Debian's chromium`)
  // --no-sandbox: the tests may run as root (CI containers), where Chromium's sandbox refuses to start
  return chromium.launch({ executablePath: CHROMIUM_BIN, args: ['--no-sandbox'] })
}
