/**
 * What a caller may ask the proxy to forward: an origin-form request target (RFC 9112 §3.2.1), "/path?query", kept
 * inside the upstream's base path. Every other form is refused before anything is dialled: an absolute-form target
 * ("evil://x/p", "http://other/"), which string concatenation once turned into another host; a path starting "//"
 * (scheme-relative); a fragment (never sent by a client, so a trick); dot segments ("..", ".") plain or
 * percent-encoded, and encoded slashes or backslashes, which let a path climb out of the base path at the upstream;
 * control characters and spaces.
 */

export type TargetCheck = { ok: true } | { ok: false; reason: string }

const DOT_SEGMENT = /^(\.|%2e){1,2}$/i

export function checkRequestTarget(target: string): TargetCheck {
  if (!target.startsWith('/')) return { ok: false, reason: 'only origin-form request targets ("/path?query") are forwarded, not an absolute URL' }
  if (target.startsWith('//')) return { ok: false, reason: 'a request target may not start with "//"' }
  if (target.includes('#')) return { ok: false, reason: 'a request target may not carry a fragment ("#")' }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f\\]/.test(target)) return { ok: false, reason: 'a request target may not contain spaces, control characters or backslashes' }
  const q = target.indexOf('?')
  const path = q === -1 ? target : target.slice(0, q)
  // a dot segment follows a '/', and an encoded character is a '%': a path with neither (nearly every one) is checked
  // without splitting it, on every request
  if (!path.includes('/.') && !path.includes('%')) return { ok: true }
  for (const segment of path.split('/')) {
    if (DOT_SEGMENT.test(segment)) return { ok: false, reason: 'a request path may not contain "." or ".." segments (plain or percent-encoded)' }
    if (/%2f|%5c|%00/i.test(segment)) return { ok: false, reason: 'a request path may not contain encoded slashes, backslashes or NULs' }
  }
  return { ok: true }
}

/**
 * The upstream URL for a checked target: parsed against the upstream's origin, never concatenated into a host, and
 * refused unless it is still that origin under its base path.
 */
export function upstreamUrl(origin: string, basePath: string, target: string): URL {
  const url = new URL(`${basePath}${target}`, origin)
  if (url.origin !== new URL(origin).origin || !url.pathname.startsWith(basePath === '' ? '/' : basePath)) {
    throw new Error(`the request target ${JSON.stringify(target)} leaves the upstream ${origin}${basePath}`)
  }
  return url
}
