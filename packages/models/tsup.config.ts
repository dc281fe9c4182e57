import { libraryConfig } from '../../tsup.base';

// `browser`: everything without Node imports (the package's `browser` condition and `./browser`)
export default libraryConfig({ entry: ['src/index.ts', 'src/browser.ts'] });
