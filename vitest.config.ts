import { defineConfig } from 'vitest/config';

// Two cores on CI: keep file parallelism modest so socket-heavy integration tests stay
// deterministic, and give them room for real loopback I/O.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 20_000,
    reporters: ['default'],
  },
});
