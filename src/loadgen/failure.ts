/** Why a turn failed, as `<component>_<kind>`: llm_rate_limited, tts_reset, tool_status, stt_timeout, … */
export class TurnFailure extends Error {
  constructor(
    readonly component: 'stt' | 'llm' | 'tts' | 's2s' | 'tool',
    readonly kind: 'status' | 'rate_limited' | 'reset' | 'timeout' | 'protocol' | 'connect',
    message: string,
  ) {
    super(message)
  }

  get errorKind(): string {
    return `${this.component}_${this.kind}`
  }
}

/** The kind of a failed request from its status or socket error. */
export function failureOf(component: TurnFailure['component'], err: unknown, status?: number): TurnFailure {
  if (err instanceof TurnFailure) return err
  if (status !== undefined) return new TurnFailure(component, status === 429 ? 'rate_limited' : 'status', `HTTP ${status}`)
  const code = (err as { code?: string; cause?: { code?: string } })?.code ?? (err as { cause?: { code?: string } })?.cause?.code ?? ''
  const message = (err as Error)?.message ?? String(err)
  if (code === 'ECONNREFUSED' || code === 'UND_ERR_CONNECT_TIMEOUT') return new TurnFailure(component, 'connect', message)
  if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'EPIPE' || /other side closed|socket hang up/i.test(message)) return new TurnFailure(component, 'reset', message)
  if (code.includes('TIMEOUT')) return new TurnFailure(component, 'timeout', message)
  return new TurnFailure(component, 'protocol', message)
}
