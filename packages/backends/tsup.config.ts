import { libraryConfig } from '../../tsup.base';

// `browser`: the kernels without Node imports (the package's `browser` condition and `./browser`)
export default libraryConfig({ entry: ['src/index.ts', 'src/browser.ts'], shims: true });
