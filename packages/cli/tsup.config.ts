import { readFileSync } from 'node:fs';
import { libraryConfig } from '../../tsup.base';

const { version } = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default libraryConfig({
  entry: ['src/index.ts', 'src/bin.ts', 'src/data-parallel-worker.ts'],
  dts: { entry: 'src/index.ts' },
  shims: true,
  external: [/^@tensorflow\//, /^@srq\//],
  define: { __SRQ_CLI_VERSION__: JSON.stringify(version) },
});
