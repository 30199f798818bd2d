import { HopwatchError, type ErrorCodeDoc } from '../errors.js'

export const SIM_ERRORS = {
  HW_SIM_LISTEN: { meaning: 'a simulated service could not listen on its port (in use, or not allowed)', fix: 'pick another port for that service, or 0 for any free port' },
  HW_SIM_CHILD: { meaning: 'a service configured with `process: separate` did not start in its own process', fix: 'read the message for the child\'s error; run it with `process: inline` to see it in the foreground' },
  HW_SIM_PRESET: { meaning: 'no built-in preset has that name', fix: 'use --preset default, or --config FILE' },
} as const satisfies Record<string, ErrorCodeDoc>

export class SimError extends HopwatchError<keyof typeof SIM_ERRORS> {}
