import { DESIGN_SLOS } from '../slos.js'
import { DEFAULTS } from './defaults.js'
import { bool, int, list, num, obj, optional, str, url, withDefault, type Context } from './validate.js'

const R = DEFAULTS.resources
const A = DEFAULTS.alerts
const seconds = (fallback: number, min = 0.05, max = 86_400 * 7) => withDefault(num({ min, max, fix: `seconds, e.g. ${fallback}` }), fallback)

/** The `resources:` section: what to sample while a run goes on, into `resource_samples`. */
export function resourcesSchema() {
  const name = str({ pattern: /^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/, fix: 'letters, digits, ".", "_", ":" or "-", e.g. agent' })
  return obj({
    interval_s: seconds(R.interval_s, 0.05, 3600),
    /** hopwatch's own process: the proxy and the generator must not be what leaks */
    self: withDefault(bool(), R.self),
    /** hopwatch run --sim: the simulator's services that run in their own processes */
    sim: withDefault(bool(), R.sim),
    targets: withDefault(
      list(
        obj({
          name,
          process: optional(obj({ pid: optional(int({ min: 1, max: 2 ** 22 })), match: optional(str({ nonEmpty: true, fix: 'a piece of the command line, e.g. "node agent.js"' })) })),
          cgroup: optional(str({ pattern: /^\//, fix: 'an absolute cgroup directory, e.g. /sys/fs/cgroup/system.slice/agent.service' })),
          prometheus: optional(
            obj({
              url: url({ protocols: ['http', 'https'], example: 'http://127.0.0.1:9400/metrics' }),
              metrics: list(str({ nonEmpty: true, fix: 'a metric name, e.g. process_resident_memory_bytes' }), { min: 1, fix: 'list the gauges to keep, e.g. [process_resident_memory_bytes]' }),
            }),
          ),
          nvidia_smi: optional(bool()),
          network: optional(obj({ interface: str({ pattern: /^[A-Za-z0-9._@-]{1,15}$/, fix: 'an interface name from /proc/net/dev, e.g. eth0' }) })),
          /** the target's memory limit: the headroom rule and the time-to-limit projection use it */
          memory_limit_mb: optional(num({ min: 1, max: 1e9 })),
          /** the cores the target may use: CPU above 85 % of it is flagged (default: the machine's, or the cgroup's quota) */
          cpu_limit_cores: optional(num({ min: 0.01, max: 100_000 })),
        }),
        { min: 0, fix: 'list targets as - { name: agent, process: { match: "node agent.js" } }' },
      ),
      [],
    ),
  })
}

/** The `alerts:` section: live rules over sliding windows, and where their state changes go. */
export function alertsSchema() {
  const ms = (fallback: number) => withDefault(num({ min: 1, max: 600_000, fix: 'milliseconds, e.g. 800' }), fallback)
  return obj({
    enabled: withDefault(bool(), A.enabled),
    eval_s: seconds(A.eval_s, 0.05, 3600),
    /** latency, error and success rules look at the last window_s */
    window_s: seconds(A.window_s, 0.1),
    /** a condition must hold this long (pending) before it fires */
    for_s: seconds(A.for_s, 0),
    /** a firing alert is notified again after this long */
    repeat_s: seconds(A.repeat_s, 1),
    /** the memory slope rule fits the last memory_window_s of samples */
    memory_window_s: seconds(A.memory_window_s, 1),
    /** a window with fewer events than this is not judged (no data is not an alert) */
    min_events: withDefault(int({ min: 1, max: 1_000_000 }), A.min_events),
    rules: obj({
      component_p95_ms: obj({
        stt: ms(DESIGN_SLOS.components_p95_ms.stt),
        llm: ms(DESIGN_SLOS.components_p95_ms.llm),
        tts: ms(DESIGN_SLOS.components_p95_ms.tts),
        s2s: ms(A.rules.s2s_p95_ms),
        backend: ms(A.rules.backend_p95_ms),
      }),
      error_rate_max: withDefault(num({ min: 0, max: 1, fix: 'a fraction, e.g. 0.05' }), A.rules.error_rate_max),
      success_min: withDefault(num({ min: 0, max: 1, fix: 'a fraction, e.g. 0.95' }), DESIGN_SLOS.success_min),
      memory_slope_mb_per_h: withDefault(num({ min: 0, max: 1e9, fix: 'MB per hour, e.g. 50' }), A.rules.memory_slope_mb_per_h),
      generator_lag_ms: withDefault(num({ min: 1, max: 60_000, fix: 'milliseconds of event-loop lag p99, e.g. 50' }), A.rules.generator_lag_ms),
      proxy_lag_ms: withDefault(num({ min: 1, max: 60_000, fix: 'milliseconds of event-loop lag p99, e.g. 50' }), A.rules.proxy_lag_ms),
    }),
    sinks: obj({
      log: withDefault(bool(), A.sinks.log),
      webhooks: withDefault(list(url({ protocols: ['http', 'https'], example: 'http://127.0.0.1:9000/hooks/hopwatch' }), { min: 0, fix: 'list webhook URLs' }), []),
      alertmanagers: withDefault(list(url({ protocols: ['http', 'https'], example: 'http://127.0.0.1:9093' }), { min: 0, fix: "list Alertmanager base URLs (hopwatch posts to /api/v2/alerts)" }), []),
      timeout_ms: withDefault(int({ min: 10, max: 600_000 }), A.sinks.timeout_ms),
    }),
  })
}

export type ResourcesConfig = ReturnType<ReturnType<typeof resourcesSchema>>
export type ResourceTargetConfig = ResourcesConfig['targets'][number]
export type AlertsConfig = ReturnType<ReturnType<typeof alertsSchema>>

const TARGET_KINDS = ['process', 'cgroup', 'prometheus', 'nvidia_smi', 'network'] as const

/** Each target is exactly one kind, a process names a pid or a match, and names are unique. */
export function checkResources(resources: ResourcesConfig, ctx: Context): void {
  const names = new Map<string, number>()
  resources.targets.forEach((t, i) => {
    const at = `resources.targets[${i}]`
    const kinds = TARGET_KINDS.filter((k) => t[k] !== undefined && t[k] !== false)
    if (kinds.length !== 1) {
      ctx.problems.push({ path: at, value: kinds, message: kinds.length === 0 ? 'says nothing to sample' : `names ${kinds.join(' and ')}`, fix: `give exactly one of ${TARGET_KINDS.join(', ')}` })
    }
    if (t.process !== undefined && (t.process.pid === undefined) === (t.process.match === undefined)) {
      ctx.problems.push({ path: `${at}.process`, value: t.process, message: 'needs exactly one of pid or match', fix: 'pid: 1234, or match: "node agent.js" (a piece of the command line)' })
    }
    const seen = names.get(t.name)
    if (seen !== undefined) ctx.problems.push({ path: `${at}.name`, value: t.name, message: `is already the name of resources.targets[${seen}]`, fix: 'give each target its own name' })
    names.set(t.name, i)
  })
}
