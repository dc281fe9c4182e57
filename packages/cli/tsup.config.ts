import { libraryConfig } from '../../tsup.base';

export default libraryConfig({
  entry: ['src/index.ts', 'src/bin.ts', 'src/data-parallel-worker.ts'],
  dts: { entry: 'src/index.ts' },
  shims: true,
  external: [/^@tensorflow\//, /^@srq\//],
});
