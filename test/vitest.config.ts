import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 600_000,
    // two files at a time, also on a 2-core machine: most of these tests wait on child processes
    maxWorkers: 2,
  },
});
