import { channel } from 'node:diagnostics_channel'
import type { HopRecord, StepRecord, TurnRecord } from './types.js'

/**
 * The proxy and the load generator publish on these channels; the store writer, the metrics, the OTel exporter and
 * the live alerts subscribe. Publishers check `hasSubscribers` first, so nothing is built when nobody listens.
 */
export const hopEnded = channel('hopwatch:hop:end')

export type HopEndedMessage = HopRecord

/** A simulated caller's turn ended (the load generator publishes one per turn). */
export const turnEnded = channel('hopwatch:turn:end')

export type TurnEndedMessage = TurnRecord

/** A load step ended, with the generator's own health during it. */
export const stepEnded = channel('hopwatch:step:end')

export type StepEndedMessage = StepRecord
