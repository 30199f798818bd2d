import { channel } from 'node:diagnostics_channel'
import type { HopRecord } from './types.js'

/**
 * The proxy and the load generator publish on these channels; the store writer, the metrics, the OTel exporter and
 * the live alerts subscribe. Publishers check `hasSubscribers` first, so nothing is built when nobody listens.
 */
export const hopEnded = channel('hopwatch:hop:end')

export type HopEndedMessage = HopRecord
