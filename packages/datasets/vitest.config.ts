import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: { include: ['src/**/*.test.ts'], setupFiles: ['../quantizers/vitest.setup.ts'], testTimeout: 120_000 },
});
