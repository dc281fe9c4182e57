import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['src/**/*.test.ts'], setupFiles: ['../dropbits/vitest.setup.ts'], testTimeout: 120_000 },
});
