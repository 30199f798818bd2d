export { analyzeRun, DEFAULT_SLOS, type Analysis, type RunData, type Slos, type SloBreach } from './run-analysis.js'
export { findDegradation, DEGRADATION_DEFAULTS, type Degradation, type DegradationOptions, type StepSamples } from './degradation.js'
export { quantile, rankTest, bootstrapQuantileDifference } from './stats.js'
export { analyzeStoredRun } from './from-store.js'
