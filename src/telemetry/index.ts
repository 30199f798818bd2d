export { HOP_BUCKETS, ProxyMetrics, type DnsCounts, type StoreCounts, type UpstreamGauge } from './metrics.js'
