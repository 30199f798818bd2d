import type { RunData } from '../../src/analyze/index.js'

/** A run of these steps and nothing measured in them, for tests of which steps are evidence; `extra` adds the rest. */
export function stepsOnly(steps: RunData['steps'], extra: Partial<RunData> = {}): RunData {
  return { run: { run_id: 'r', name: 'r', source: 'load' }, steps, components: [], errors: [], turns: [], componentSamples: new Map(), turnSamples: new Map(), paths: [], ...extra }
}
