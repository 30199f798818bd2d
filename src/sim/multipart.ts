/** One field of a multipart/form-data body. */
export interface FormPart {
  name: string
  filename: string | undefined
  contentType: string | undefined
  data: Buffer
}

/** The boundary of a multipart/form-data content type, or undefined when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (contentType === undefined || !/^multipart\/form-data/i.test(contentType)) return undefined
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType)
  return match?.[1] ?? match?.[2]
}

/** Splits a whole multipart/form-data body (RFC 7578) into its parts; undefined when it is malformed. */
export function parseMultipart(body: Buffer, boundary: string): Map<string, FormPart> | undefined {
  const delimiter = Buffer.from(`--${boundary}`)
  const parts = new Map<string, FormPart>()
  let at = body.indexOf(delimiter)
  if (at < 0) return undefined
  for (;;) {
    at += delimiter.length
    if (body.toString('latin1', at, at + 2) === '--') return parts
    if (body.toString('latin1', at, at + 2) !== '\r\n') return undefined
    const headerEnd = body.indexOf('\r\n\r\n', at)
    if (headerEnd < 0) return undefined
    const headers = body.toString('utf8', at + 2, headerEnd)
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd + 4)
    if (next < 0) return undefined
    const disposition = /content-disposition:\s*form-data;([^\r\n]*)/i.exec(headers)?.[1] ?? ''
    const name = /\bname="([^"]*)"/i.exec(disposition)?.[1]
    if (name === undefined) return undefined
    parts.set(name, {
      name,
      filename: /\bfilename="([^"]*)"/i.exec(disposition)?.[1],
      contentType: /content-type:\s*([^\r\n]+)/i.exec(headers)?.[1]?.trim(),
      data: body.subarray(headerEnd + 4, next),
    })
    at = next + 2
  }
}
