import { defineConfig, type Options } from 'tsup';

/**
 * The build of every package: ESM + CommonJS + .d.ts from `src/index.ts`, tfjs (and, where
 * given, other packages) left as imports. `shims` provides `import.meta.url` in the CommonJS build.
 */
export function libraryConfig(options: Partial<Options> = {}) {
  return defineConfig({
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'es2022',
    external: [/^@tensorflow\//],
    ...options,
  });
}
