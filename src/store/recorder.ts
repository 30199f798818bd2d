import { hopEnded } from '../events.js'
import type { BatchWriter } from './writer.js'

/** Subscribes the writer to every ended hop; returns the unsubscribe. The proxy never calls the store. */
export function recordHops(writer: BatchWriter): () => void {
  const listener = (message: unknown) => writer.push('hops', message as object)
  hopEnded.subscribe(listener)
  return () => hopEnded.unsubscribe(listener)
}
