import { SrqError } from '@srq/quantizers';

/** A saved model could not be read: missing directory or file, or a file that does not parse. */
export class ModelFileError extends SrqError {
  constructor(message: string, file: string) {
    super('MODEL_FILE', message, { file });
  }
}

/** The bytes of several views, one after the other. */
export function concatBytes(parts: ArrayBufferView[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.byteLength, 0));
  let o = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), o);
    o += p.byteLength;
  }
  return out;
}
