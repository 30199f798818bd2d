import type { IncomingHttpHeaders } from 'node:http'
import type { Component } from '../../types.js'

/** What an adapter sees of the caller's request: never the body, which streams past it. */
export interface RequestInfo {
  method: string
  /** path as the upstream receives it, without the query string */
  path: string
  /** the raw query string without "?" (may hold credentials: read what you need, never store it) */
  query: string
  headers: IncomingHttpHeaders
}

/** The moments and facts an adapter may note on the current hop; the core stamps the time. */
export interface HopMarks {
  /** the moment the component is judged on (first token, first audio byte, first transcript); only the first call counts */
  firstPayload(): void
  /** last token, final transcript, last audio; each call moves it later */
  final(): void
  usage(tokensIn: number, tokensOut: number): void
  /** audio carried by the hop, in milliseconds; adds up over calls */
  audio(ms: number): void
  model(name: string): void
}

/** Labels the bytes of one HTTP hop. Every method is optional and must not keep whole bodies. */
export interface HttpObserver {
  onRequestData?(chunk: Buffer): void
  onResponseStart?(status: number, headers: IncomingHttpHeaders): void
  onResponseData?(chunk: Buffer): void
  onResponseEnd?(): void
}

/** One exchange on a WebSocket: one hop, from begin to end. */
export interface WsExchange extends HopMarks {
  /** starts an exchange (a hop) unless one is open */
  begin(): void
  /** the open exchange's content began at `atUs`, before or after its first frame (live STT: where speech began) */
  startAt(atUs: number): void
  /**
   * the caller finished its part of the exchange (last audio frame, finalize, commit), now or at `atUs` (live STT:
   * the moment the end of speech passed); each call moves it
   */
  requestEnd(atUs?: number): void
  /** ends the open exchange, if any */
  end(): void
  /** drops the open exchange unrecorded: it held no content (silence between utterances), so it is no hop */
  discard(): void
  readonly open: boolean
}

/**
 * A WebSocket carries a sequence of exchanges; each exchange is one hop. The connection's own exchange is one at a
 * time; a protocol that runs several at once (a multi-context TTS) opens one per context.
 */
export interface WsExchanges extends WsExchange {
  /** the exchange of one context (`context_id`): each opens, ends and is numbered on its own */
  context(key: string): WsExchange
}

/** Labels the messages of one WebSocket connection. */
export interface WsObserver {
  onClientMessage(data: Buffer, isBinary: boolean): void
  onUpstreamMessage(data: Buffer, isBinary: boolean): void
  /** the connection is closing (`clean`: nobody failed); an exchange left open after this is recorded as cut short */
  onClose?(clean: boolean): void
}

/**
 * A provider adapter answers one question: which moment is this byte or message? Adding a provider is one file
 * that exports an Adapter and one line in the registry; the proxy core never changes.
 */
export interface Adapter {
  readonly name: string
  /** An observer for an HTTP hop; undefined means the generic one (first byte is the payload, end is final). */
  http?(request: RequestInfo, marks: HopMarks): HttpObserver | undefined
  /**
   * Whether a request is not the component's work (`GET /v1/models`, a voice listing): such hops are recorded but
   * never judged, and have no first payload. Absent means every request is the component's work.
   */
  auxiliary?(request: RequestInfo): boolean
  /**
   * The component a request is the work of, for a provider whose one base URL serves several (OpenAI: chat → llm,
   * speech → tts, transcriptions → stt, realtime → s2s); undefined leaves it to the upstream's `component`.
   */
  component?(request: RequestInfo): Component | undefined
  /** An observer for a WebSocket connection; absent means one exchange per connection. */
  ws?(request: RequestInfo, exchanges: WsExchanges): WsObserver | undefined
}
