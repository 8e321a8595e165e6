// @ts-check
/**
 * Lint rules, run by `npm test`. Besides typescript-eslint's recommended set, they hold the
 * layering ARCHITECTURE.md describes:
 * - only server/config.ts reads process.env (scripts and tests set up their own environments);
 * - the metadata layer (server/meta, server/engines) never imports a feature;
 * - a feature never imports another feature's store: it goes through that feature's service or a
 *   named read model. The files listed in LEGACY_STORE_IMPORTS still do; each entry is debt the
 *   feature-layer rebuild (issue 13) removes; a file joins only when split out of one already
 *   listed (the enforcement pass, notices and decisions came out of the enforcement service).
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const FEATURES = ['audit', 'directory-quotas', 'enforcement', 'insights', 'jobs', 'notifications', 'quotas', 'requests', 'scanner', 'storage', 'tenants', 'volumes'];

/** Files that still import another feature's store (the debt list; it only shrinks). */
const LEGACY_STORE_IMPORTS = [
  'server/enforcement/enforcement-service.ts',
  'server/enforcement/enforcement-notices.ts',
  'server/enforcement/decisions.ts',
  'server/enforcement/enforcement-view.ts',
  'server/notifications/outbox.ts',
  'server/quotas/usage-service.ts',
  'server/requests/request-service.ts',
  'server/storage/storage-reconciler.ts',
  'server/volumes/volume-service.ts',
];

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
    ignores: LEGACY_STORE_IMPORTS,
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../*/*-store.js', '../../*/*-store.js'], message: 'Reach another feature through its service or a named read model, never its store.' }] },
      ],
    },
  },
);
