export { SpanAccounting, type SpanCounts } from './counting.js'
export { exportTarget, Tracing, tracesUrl, type OtlpExportConfig, type TraceCounts } from './sdk.js'
export { TURN_TRACE_DEFAULTS, TurnTraces, type TurnTraceOptions } from './turn-traces.js'
