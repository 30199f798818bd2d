/**
 * Secrets that travel inside URLs, kept out of what hopwatch prints and stores: user and password (`user:secret@`),
 * query values (`?api_key=…`), and, for URLs that are themselves the credential (a Slack or Teams webhook, an
 * Alertmanager behind a path token), the whole path.
 */
export function redactUrl(text: string, options: { path?: boolean } = {}): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return '(a URL that could not be parsed, not shown)'
  }
  if (url.username !== '') url.username = '***'
  if (url.password !== '') url.password = '***'
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, '***')
  url.hash = ''
  if (options.path === true && url.pathname !== '/') url.pathname = '/***'

  return url.toString().replace(/%2A%2A%2A/g, '***')
}
