/** Decodes a base64 string (the embedded modules of src/generated/) to bytes. */
function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(text.length));
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * Compiles and instantiates one of our embedded WebAssembly modules; null where WebAssembly SIMD
 * is unavailable (the module does not validate). Asynchronous because browsers refuse to compile
 * modules over 4 KB synchronously on the main thread.
 */
export async function instantiateEmbedded<T>(base64: string, name: string): Promise<T | null> {
  try {
    const compiled = await WebAssembly.compile(decode(base64));
    const instance = await WebAssembly.instantiate(compiled, { env: { abort: () => { throw new Error(`${name} wasm abort`); } } });
    return instance.exports as unknown as T;
  } catch {
    return null;
  }
}

/**
 * One of our embedded modules, compiled on the first `load()` (later calls share it): `exports`
 * is null until then, and where WebAssembly SIMD is unavailable.
 */
export class EmbeddedModule<T> {
  exports: T | null = null;
  private loading: Promise<boolean> | null = null;
  constructor(
    private readonly base64: string,
    private readonly name: string,
  ) {}

  load(): Promise<boolean> {
    this.loading ??= instantiateEmbedded<T>(this.base64, this.name).then((exports) => {
      this.exports = exports;
      return exports !== null;
    });
    return this.loading;
  }
}

/**
 * Places arrays above `base` in a module's memory, 16-byte aligned, and grows the memory to fit:
 * `place(bytes)` returns each array's offset; `fit()` grows once all are placed.
 */
export function heapPlacer(memory: WebAssembly.Memory, base: number): { place(bytes: number): number; fit(): void } {
  let offset = base;
  return {
    place(bytes: number): number {
      const at = offset;
      offset += (bytes + 15) & ~15;
      return at;
    },
    fit(): void {
      const missing = offset - memory.buffer.byteLength;
      if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    },
  };
}
