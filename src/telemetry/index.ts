export { HOP_BUCKETS, ProxyMetrics, type StoreCounts, type UpstreamGauge } from './metrics.js'
