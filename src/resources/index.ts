export { readProcess, type ProcessReading } from './process.js'
export { ProcessSampler, type ProcessTarget, type ResourceSample } from './sampler.js'
