import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { WorkerPool } from './capacity.js'
import type { FaultPlan } from './faults.js'

/** How a request to a simulated service ended. */
export type Outcome = 'ok' | 'rejected' | 'error_500' | 'error_429' | 'error_503' | 'timeout' | 'reset' | 'dropped' | 'bad_request' | 'aborted'

/**
 * A service's own Prometheus metrics: queue depth, requests in service, workers, outcomes, open connections, leaked
 * bytes and the slowdown factor, with the process's own (RSS, CPU, event loop) from prom-client's defaults.
 */
export class ServiceMetrics {
  readonly registry = new Registry()
  private readonly outcomes: Counter<'outcome'>

  constructor(service: { name: string; kind: string }, pool: WorkerPool, faults: FaultPlan, connections: () => number) {
    this.registry.setDefaultLabels({ service: service.name, kind: service.kind })
    collectDefaultMetrics({ register: this.registry })
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers: [this.registry],
        collect() {
          this.set(read())
        },
      })
    gauge('hopwatch_sim_in_flight', 'requests being served now (holding a worker)', () => pool.stats().inService)
    gauge('hopwatch_sim_queue_depth', 'requests waiting for a worker', () => pool.stats().queued)
    gauge('hopwatch_sim_workers', 'requests the service serves at once', () => pool.workers)
    gauge('hopwatch_sim_connections', 'open TCP connections', connections)
    gauge('hopwatch_sim_leaked_bytes', 'memory retained by the planted leak', () => faults.leaked())
    gauge('hopwatch_sim_slowdown_factor', 'current service-time multiplier of the planted slowdown', () => faults.slowdown())
    this.outcomes = new Counter({ name: 'hopwatch_sim_requests_total', help: 'requests (or streamed jobs) by how they ended', labelNames: ['outcome'], registers: [this.registry] })
  }

  count(outcome: Outcome): void {
    this.outcomes.inc({ outcome })
  }

  render(): Promise<string> {
    return this.registry.metrics()
  }
}
