export { ProxyMetrics, type StoreCounts, type UpstreamGauge } from './metrics.js'
