import { hopEnded, stepEnded, turnEnded } from '../events.js'
import type { BatchWriter } from './writer.js'

/** Subscribes the writer to every ended hop; returns the unsubscribe. The proxy never calls the store. */
export function recordHops(writer: BatchWriter): () => void {
  const listener = (message: unknown) => writer.push('hops', message as object)
  hopEnded.subscribe(listener)
  return () => hopEnded.unsubscribe(listener)
}

/** Subscribes the writer to every turn and step the load generator publishes; returns the unsubscribe. */
export function recordLoad(writer: BatchWriter): () => void {
  const onTurn = (message: unknown) => writer.push('turns', message as object)
  const onStep = (message: unknown) => writer.push('steps', message as object)
  turnEnded.subscribe(onTurn)
  stepEnded.subscribe(onStep)
  return () => {
    turnEnded.unsubscribe(onTurn)
    stepEnded.unsubscribe(onStep)
  }
}
