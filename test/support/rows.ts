import type { HopRecord } from '../../src/types.js'

/** A complete hop row with distinct values, for store tests. */
export function hopRow(i: number, overrides: Partial<HopRecord> = {}): HopRecord {
  const start = 1_764_000_000_000_000 + i * 1000
  return {
    run_id: 'run-test',
    conversation_id: `conv-${Math.floor(i / 4)}`,
    turn: i % 4,
    hop_id: `hop-${i}`,
    component: 'llm',
    upstream: 'llm',
    instance: '127.0.0.1:9000',
    proxy: 'test-proxy',
    adapter: 'openai',
    transport: 'http',
    method: 'POST',
    route: '/v1/chat/completions',
    model: 'gpt-test',
    start_us: start,
    request_end_us: start + 100,
    response_start_us: start + 2000,
    first_byte_us: start + 2100,
    first_payload_us: start + 2500,
    final_us: start + 9000,
    end_us: start + 9100,
    status: 200,
    error_kind: '',
    bytes_in: 321,
    bytes_out: 4567,
    tokens_in: 12,
    tokens_out: 34,
    audio_ms: 0,
    in_flight: 1 + (i % 7),
    auxiliary: 0,
    trace_id: '',
    parent_span_id: '',
    ...overrides,
  }
}
