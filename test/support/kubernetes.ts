/**
 * Validates a rendered Kubernetes object against the API's OpenAPI schemas, as the API server would on apply:
 * npm `kubernetes-models` (generated from Kubernetes' own OpenAPI) for the core API groups and
 * `@kubernetes-models/prometheus-operator` for ServiceMonitor and PrometheusRule.
 */
export async function validateObject(object: Record<string, unknown>): Promise<string[]> {
  const apiVersion = String(object.apiVersion)
  const kind = String(object.kind)
  const module = apiVersion.startsWith('monitoring.coreos.com/') ? `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}` : `kubernetes-models/${apiVersion}/${kind}`
  let Model: new (o: unknown) => { validate(): void }
  try {
    Model = ((await import(module)) as Record<string, new (o: unknown) => { validate(): void }>)[kind] as new (o: unknown) => { validate(): void }
  } catch (err) {
    return [`no schema for ${apiVersion} ${kind}: ${(err as Error).message}`]
  }
  try {
    new Model(object).validate()
    return []
  } catch (err) {
    return [(err as Error).message]
  }
}
