import { defineConfig } from 'vitest/config';

/**
 * Four tiers by folder, each a vitest project (`vitest run --project unit` runs one):
 * test/unit (no servers), test/contract (one suite per port, run against every engine and its
 * fake), test/e2e (HTTP against real PostgreSQL) and test/real (the real JuiceFS binaries
 * built by scripts/tools.sh, FUSE mounts included). Files run in parallel processes; each e2e
 * and real file gets its own database cloned from a migrated template.
 *
 * The projects do not inherit the root config (`extends` is off): inherited arrays are
 * appended, which would give every project the PostgreSQL global setup. Only the tiers that
 * talk to PostgreSQL (e2e, real) run it; unit and contract start no server.
 */
const shared = {
  pool: 'forks',
  testTimeout: 30_000,
  hookTimeout: 60_000,
} as const;

const globalSetup = ['test/support/global-setup.ts'];

export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { ...shared, name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { test: { ...shared, name: 'contract', include: ['test/contract/**/*.test.ts'] } },
      { test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts'], globalSetup } },
      {
        test: {
          ...shared,
          name: 'real',
          include: ['test/real/**/*.test.ts'],
          globalSetup,
          // Real binaries, FUSE mounts and heartbeat-timed checks: one file at a time, so a
          // busy machine does not turn a measured lag into a flake; longer timeouts for mounts.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        // The web dashboard in Debian's Chromium (playwright-core) against a real Headroom on
        // PostgreSQL; the second setup builds web/dist when it is missing or older than web/src.
        test: {
          ...shared,
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          globalSetup: [...globalSetup, 'test/browser/build-web.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
