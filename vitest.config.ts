import { defineConfig } from 'vitest/config';

/**
 * Three tiers by folder: test/unit (no servers), test/contract (one suite per port, run against
 * every engine and its fake), test/e2e (HTTP against real PostgreSQL). Files run in parallel
 * processes; each e2e file gets its own database cloned from a migrated template.
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
