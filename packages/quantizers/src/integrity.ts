// Integrity of the files the @srq packages write: a size and a CRC-32 recorded beside the bytes,
// checked on read, so that truncation or a flipped byte is an error naming the file instead of a
// model that loads wrong. Shared by every package (no Node imports: browsers check packed models).

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC-32 (the IEEE polynomial of zlib, gzip and PNG) of `data` (a string is hashed as UTF-8),
 * as 8 lowercase hex digits. `crc32('123456789') === 'cbf43926'`.
 */
export function crc32(data: Uint8Array | string): string {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ((c ^ 0xffffffff) >>> 0).toString(16).padStart(8, '0');
}

/** What a file records about bytes it names: their length and CRC-32. */
export interface Seal {
  bytes: number;
  crc32: string;
}

/** The {@link Seal} of `data`. */
export function sealOf(data: Uint8Array | string): Seal {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  return { bytes: bytes.length, crc32: crc32(bytes) };
}

/**
 * What is wrong with `data` against the `seal` recorded for it, in a few words for an error
 * message ("truncated: 25 of 800 bytes", "checksum mismatch", …), or null when it matches.
 */
export function sealProblem(data: Uint8Array, seal: Seal): string | null {
  if (data.length === 0 && seal.bytes > 0) return `empty (${seal.bytes} bytes recorded)`;
  if (data.length < seal.bytes) return `truncated: ${data.length} of ${seal.bytes} bytes`;
  if (data.length > seal.bytes) return `${data.length} bytes, ${seal.bytes} recorded`;
  const sum = crc32(data);
  return sum === seal.crc32 ? null : `checksum mismatch (CRC-32 ${sum}, ${seal.crc32} recorded)`;
}

/**
 * A JSON document with its format version and a CRC-32 of its body, as one string: what
 * {@link openJson} reads back. A flipped byte that keeps the JSON valid is still caught.
 */
export function sealJson(format: number, body: unknown): string {
  const text = JSON.stringify(body);
  return `${JSON.stringify({ format, crc32: crc32(text), body: JSON.parse(text) })}\n`;
}

/**
 * Reads a document written by {@link sealJson}. Returns the body, or throws what `fail` builds
 * from a short description of the problem (malformed JSON, wrong format version, checksum).
 *
 * @param format - the version this reader understands
 */
export function openJson<T>(text: string, format: number, fail: (problem: string) => Error): T {
  if (text.trim() === '') throw fail('empty');
  let doc: { format?: unknown; crc32?: unknown; body?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (e) {
    throw fail(`not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  if (typeof doc !== 'object' || doc === null || !('body' in doc)) throw fail('not a sealed document (no format, crc32 and body)');
  if (doc.format !== format) throw fail(`format version ${JSON.stringify(doc.format)}; this version reads ${format}`);
  if (doc.crc32 !== crc32(JSON.stringify(doc.body))) throw fail('checksum mismatch');
  return doc.body as T;
}
