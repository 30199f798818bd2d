import { CONFIG_ERRORS } from '../config/index.js'
import type { ErrorCodeDoc } from '../errors.js'
import { PROXY_ERRORS } from '../proxy/index.js'
import { SIM_ERRORS } from '../sim/index.js'
import { STORE_ERRORS } from '../store/index.js'
import { CLI_ERRORS } from './errors.js'

/** Every error code hopwatch can report, by area; the README's reference lists exactly these (a test checks). */
export const ERROR_CODES: Readonly<Record<string, ErrorCodeDoc>> = { ...CONFIG_ERRORS, ...STORE_ERRORS, ...PROXY_ERRORS, ...SIM_ERRORS, ...CLI_ERRORS }
