import { AlertEngine, alertmanagerSink, logSink, webhookSink, type AlertSink, type AlertStats, type LagSource } from '../alerts/index.js'
import type { HopwatchConfig } from '../config/index.js'
import { pidProbe, probesFromConfig, ResourceSampler, type Probe } from '../resources/index.js'
import type { Recording } from './recording.js'

/**
 * What a recording process watches besides traffic: the `resources:` targets sampled into `resource_samples`, and
 * the live alert rules, whose state changes go to `alerts` and the configured sinks.
 */
export class Watching {
  private constructor(
    readonly sampler: ResourceSampler,
    readonly engine: AlertEngine | undefined,
  ) {}

  /**
   * Starts sampling and alerting for a run. `processes` are extra processes to sample (the simulator's own, under
   * `hopwatch run --sim`); `generator` says callers run in this process, `proxy` names the proxy that runs in it
   * without callers (its event loop is then watched: proxy_overloaded; `proxyLag` where its loops are its workers').
   */
  static start(config: HopwatchConfig, recording: Recording, options: { generator: boolean; proxy?: string; proxyLag?: LagSource; processes?: ReadonlyArray<{ name: string; pid: number }>; warn?: (line: string) => void }): Watching {
    const warn = options.warn ?? ((line: string) => process.stderr.write(line))
    const extra: Probe[] = (options.processes ?? []).map((p) => pidProbe(p.name, p.pid))
    const sinks: AlertSink[] = [
      ...(config.alerts.sinks.log ? [logSink(warn)] : []),
      ...config.alerts.sinks.webhooks.map((u) => webhookSink(u, config.alerts.sinks.timeout_ms)),
      ...config.alerts.sinks.alertmanagers.map((u) => alertmanagerSink(u, config.alerts.sinks.timeout_ms)),
    ]
    const engine = config.alerts.enabled
      ? new AlertEngine({ runId: recording.runId, config: config.alerts, sinks, generator: options.generator, ...(options.proxy !== undefined ? { proxy: options.proxy } : {}), ...(options.proxyLag !== undefined ? { proxyLag: options.proxyLag } : {}), warn, record: (row) => recording.writer.push('alerts', row) })
      : undefined
    const sampler = new ResourceSampler(
      recording.runId,
      probesFromConfig(config.resources, extra),
      config.resources.interval_s * 1000,
      (row) => {
        recording.writer.push('resource_samples', row)
        engine?.observeSample(row)
      },
      (e) => warn(`hopwatch: resources: ${e.target} (${e.kind}) ${e.state === 'up' ? 'is read again' : e.state === 'down' ? `could not be read: ${e.reason}; tried again every ${config.resources.interval_s} s` : `is gone: ${e.reason}; the other targets are still sampled`}\n`),
    )
    sampler.start()
    engine?.start()
    return new Watching(sampler, engine)
  }

  stats(): { sampled: readonly string[]; alerts: AlertStats | undefined } {
    return { sampled: this.sampler.targets, alerts: this.engine?.stats() }
  }

  /** Takes a last sample, resolves what still fires, and delivers the last notifications. */
  async stop(): Promise<void> {
    await this.sampler.stop()
    await this.sampler.sampleOnce()
    this.engine?.evaluate()
    await this.engine?.stop()
  }
}
