import type { Severity } from './rules.js'

/** An alert's state as it is stored in `alerts` and sent to the sinks. */
export type AlertState = 'pending' | 'firing' | 'resolved' | 'inactive'

/** One alert at one moment: a rule about one key (a component, a target). */
export interface AlertNotice {
  run_id: string
  rule: string
  /** the component or target */
  key: string
  state: AlertState
  severity: Severity
  value: number
  threshold: number
  message: string
  /** when the condition began to hold (µs) */
  since_us: number
  /** this notice's moment (µs) */
  at_us: number
  /** true when this is a firing alert notified again after the repeat interval */
  repeat: boolean
}
