import { redactUrl } from '../redact.js'
import type { AlertNotice } from './notice.js'

/** Where alert state changes go: one call per change (and per repeat of a firing alert). */
export interface AlertSink {
  name: string
  send(notice: AlertNotice): Promise<void>
  /** called at every evaluation with the alerts firing now (Alertmanager needs them re-sent to keep them active) */
  tick?(firing: readonly AlertNotice[], nowUs: number): Promise<void>
}

const iso = (us: number) => new Date(us / 1000).toISOString()

async function post(url: string, body: unknown, timeoutMs: number): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) })
  const text = await res.text()
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${text.slice(0, 200)}`)
}

/** A line on stderr per state change. */
export function logSink(write: (line: string) => void = (l) => process.stderr.write(l)): AlertSink {
  return {
    name: 'log',
    async send(n) {
      write(`hopwatch: alert ${n.state.toUpperCase()}${n.repeat ? ' (still)' : ''} ${n.rule} ${n.key}: ${n.message}\n`)
    },
  }
}

/**
 * A webhook: one JSON POST per state change, shaped like Alertmanager's own webhook payload (version 4), so a
 * receiver written for Alertmanager reads it too.
 */
export function webhookSink(url: string, timeoutMs: number): AlertSink {
  return {
    name: `webhook ${redactUrl(url, { path: true })}`,
    send: (n) =>
      post(url, {
        version: '4',
        receiver: 'hopwatch',
        status: n.state === 'resolved' ? 'resolved' : 'firing',
        groupLabels: { alertname: n.rule },
        commonLabels: labelsOf(n),
        commonAnnotations: { summary: n.message },
        externalURL: '',
        groupKey: `hopwatch/${n.run_id}/${n.rule}/${n.key}`,
        truncatedAlerts: 0,
        alerts: [{ status: n.state === 'resolved' ? 'resolved' : 'firing', labels: labelsOf(n), annotations: annotationsOf(n), startsAt: iso(n.since_us), endsAt: n.state === 'resolved' ? iso(n.at_us) : '0001-01-01T00:00:00Z', generatorURL: '', fingerprint: fingerprint(n) }],
        hopwatch: n,
      }, timeoutMs),
  }
}

function labelsOf(n: AlertNotice): Record<string, string> {
  return { alertname: n.rule, severity: n.severity, component: n.key, run_id: n.run_id, source: 'hopwatch' }
}

function annotationsOf(n: AlertNotice): Record<string, string> {
  return { summary: n.message, value: String(n.value), threshold: String(n.threshold) }
}

/** A stable id per rule and key within a run. */
function fingerprint(n: AlertNotice): string {
  let h = 0x811c9dc5
  for (const c of `${n.run_id}\u0000${n.rule}\u0000${n.key}`) h = Math.imul(h ^ (c.codePointAt(0) ?? 0), 0x01000193) >>> 0
  return h.toString(16).padStart(8, '0')
}

/**
 * Alertmanager's API v2 (`POST /api/v2/alerts`), so its routing, grouping, inhibition and silences apply. Like
 * Prometheus, a firing alert is re-sent while it fires (every `resendMs`) with an end `4 × resendMs` ahead, so an
 * Alertmanager that restarted learns it again and one that stops hearing resolves it; a resolved alert is sent with
 * its end now. Alertmanager deduplicates: re-sends are not notifications.
 */
export function alertmanagerSink(baseUrl: string, timeoutMs: number, resendMs = 60_000): AlertSink {
  const url = `${baseUrl.replace(/\/$/, '')}/api/v2/alerts`
  const sentAt = new Map<string, number>()
  const body = (n: AlertNotice, endsUs: number) => [{ labels: labelsOf(n), annotations: annotationsOf(n), startsAt: iso(n.since_us), endsAt: iso(endsUs), generatorURL: 'http://hopwatch.invalid/alerts' }]
  return {
    name: `alertmanager ${redactUrl(baseUrl, { path: true })}`,
    async send(n) {
      const key = fingerprint(n)
      if (n.state === 'resolved') sentAt.delete(key)
      else sentAt.set(key, n.at_us)
      await post(url, body(n, n.state === 'resolved' ? n.at_us : n.at_us + 4 * resendMs * 1000), timeoutMs)
    },
    async tick(firing, nowUs) {
      for (const n of firing) {
        const key = fingerprint(n)
        if (nowUs - (sentAt.get(key) ?? 0) < resendMs * 1000) continue
        sentAt.set(key, nowUs)
        await post(url, body(n, nowUs + 4 * resendMs * 1000), timeoutMs)
      }
    },
  }
}
