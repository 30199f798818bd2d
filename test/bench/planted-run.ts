/**
 * A synthetic run of any size generated inside ClickHouse (INSERT … SELECT FROM numbers()): 5 hops per turn, 10
 * steps, the LLM's time to first token rising 150 ms a step from step 6. For the benches of large runs; its SQL
 * runs on 18.16 too (every number an Int64: 18.x finds no common type for Int64 and UInt64).
 */
import type { Store } from '../../src/store/index.js'

const CHUNK = 1_000_000

export async function plant(store: Store, runId: string, hops: number): Promise<void> {
  const turns = Math.floor(hops / 5)
  const t0 = 1_790_000_000_000_000
  const exec = (query: string) => store.client.command({ query })
  await exec(`INSERT INTO hopwatch.runs (run_id, name, source, started_us, ended_us, hopwatch_version, config_json, updated_us) VALUES ('${runId}', 'bench', 'bench', ${t0}, ${t0 + 600e6}, 'bench', '{}', ${t0})`)
  await exec(`INSERT INTO hopwatch.steps (run_id, step, phase, load_model, target_load, achieved_load, start_us, end_us, shard, started, late_starts, dropped_starts, lateness_p99_ms, generator_lag_p99_ms, generator_cpu, generator_limited)
    SELECT '${runId}', number, 'ramp', 'closed', 10 + number * 5, 10 + number * 5, ${t0} + number * 60000000, ${t0} + (number + 1) * 60000000, '1/1', ${Math.floor(turns / 10)}, 0, 0, 1, 5, 0.3, 0 FROM numbers(10)`)
  // a turn's LLM time to first token: 300 ms plus noise, rising 150 ms a step from step 6
  const llmUs = `(300000 + (n % 97) * 2000 + if(n % 10 >= 6, (n % 10 - 5) * 150000, 0))`
  // in chunks of a million rows: one INSERT … SELECT of ten million outlasts a server client's 30 s request timeout
  const chunks = async (total: number, insert: (where: string) => Promise<unknown>) => {
    for (let from = 0; from < total; from += CHUNK) await insert(`WHERE number >= ${from} AND number < ${Math.min(total, from + CHUNK)}`)
  }
  await chunks(turns, (where) => exec(`INSERT INTO hopwatch.turns (run_id, conversation_id, turn, scenario, step, architecture, user_start_us, user_end_us, first_audio_us, end_us, success, interrupted, hung_up, wer, error_kind, hop_count, late_us, persona, transcript)
    SELECT '${runId}', toString(n), 1, 'faq', n % 10, 'cascaded', ${t0} + (n % 10) * 60000000 + intDiv(n, 10) * 10, ${t0} + (n % 10) * 60000000 + intDiv(n, 10) * 10 + 2000000,
           ${t0} + (n % 10) * 60000000 + intDiv(n, 10) * 10 + 2000000 + 200000 + ${llmUs} + 100000, ${t0} + (n % 10) * 60000000 + intDiv(n, 10) * 10 + 6000000,
           1, 0, 0, 0.03, '', 5, 0, 'typical', 'what time do you open'
    FROM (SELECT toInt64(number) AS n FROM numbers(${turns}) ${where})`))
  const userEnd = `(${t0} + (n % 10) * 60000000 + intDiv(n, 10) * 10 + 2000000)`
  await chunks(turns * 5, (where) => exec(`INSERT INTO hopwatch.hops (run_id, conversation_id, turn, hop_id, component, upstream, instance, adapter, transport, method, route, model, start_us, request_end_us, response_start_us, first_byte_us, first_payload_us, final_us, end_us, status, error_kind, bytes_in, bytes_out, tokens_in, tokens_out, audio_ms, in_flight, trace_id, parent_span_id)
    SELECT '${runId}', toString(n), 1, toString(m), c, c, 'sim', 'bench', 'http', 'POST', '/', 'm',
           multiIf(c = 'stt', ${userEnd} - 2000000, c = 'llm', ${userEnd} + 200000, c = 'tts', ${userEnd} + 200000 + ${llmUs}, ${userEnd} + 250000),
           multiIf(c = 'stt', ${userEnd}, c = 'llm', ${userEnd} + 200100, ${userEnd} + 200100),
           0, 0,
           multiIf(c = 'llm', ${userEnd} + 200000 + ${llmUs}, c = 'tts', ${userEnd} + 200000 + ${llmUs} + 100000, 0),
           if(c = 'stt', ${userEnd} + 200000, 0),
           multiIf(c = 'stt', ${userEnd} + 200000, c = 'llm', ${userEnd} + 200000 + ${llmUs} + 300000, c = 'tts', ${userEnd} + 200000 + ${llmUs} + 900000, ${userEnd} + 300000),
           200, '', 100, 1000, 10, 20, 0, 1, '', ''
    FROM (SELECT toInt64(number) AS m, toInt64(intDiv(number, 5)) AS n, ['stt', 'llm', 'tts', 'backend', 'llm'][number % 5 + 1] AS c FROM numbers(${turns * 5}) ${where})`))
}
