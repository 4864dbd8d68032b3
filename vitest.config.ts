import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['packages/*/test/**/*.test.ts', 'scripts/**/*.test.ts', 'test/**/*.test.ts'],
    // Integration tests spawn real processes (tsx, node --test, git, openssl);
    // two cores are all a CI machine has, so keep the pool small and the timeouts generous.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
