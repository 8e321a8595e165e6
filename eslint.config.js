// @ts-check
/**
 * Lint rules, run by `npm test`. Besides typescript-eslint's recommended set, they hold the
 * layering ARCHITECTURE.md describes:
 * - only server/config.ts reads process.env (scripts and tests set up their own environments);
 * - the metadata layer (server/meta, server/engines) never imports a feature;
 * - a feature never imports another feature's store, nor its knex or fake implementations (the
 *   infrastructure's ports, such as http/idempotency-store.ts, are not features): it
 *   goes through that feature's service or a named read model (`*-read-model.ts`, or the
 *   enforcement states port), which the composition root (server/app.ts) builds and injects.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FEATURES = ['audit', 'directory-quotas', 'enforcement', 'insights', 'jobs', 'notifications', 'quotas', 'requests', 'storage', 'tenants', 'volumes', 'walks'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'data/**', '.tools/**', 'coverage/**', 'web/dist/**', 'web/src/api/schema.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Only server/config.ts reads the environment: take a slice of the frozen config instead.' }],
    },
  },
  { files: ['server/config.ts', 'scripts/**', 'test/**', '*.config.ts', 'web/*.config.ts'], rules: { 'no-restricted-properties': 'off' } },
  // gRPC clients and services loaded at run time from the .proto files have no static types.
  { files: ['server/engines/tikv/**/*.ts', 'test/support/tikv-fake/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['server/meta/**/*.ts', 'server/engines/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: FEATURES.map((f) => `**/${f}/**`), message: 'The metadata layer knows nothing of tenants, quotas or enforcement.' }] }],
    },
  },
  {
    files: FEATURES.map((f) => `server/${f}/**/*.ts`),
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: FEATURES.flatMap((f) => [`../${f}/*-store.js`, `../../${f}/*-store.js`, `../${f}/knex-*.js`, `../../${f}/knex-*.js`, `../${f}/fake-*.js`, `../../${f}/fake-*.js`]),
              message: 'Reach another feature through its service or a named read model, never its store: the composition root injects it.',
            },
          ],
        },
      ],
    },
  },
);
