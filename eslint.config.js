// Flat config; the one default export in the repo, because ESLint requires it.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'evidence/**', '**/fixtures/**/repo/**', '**/vectors/**', '.tmp/**', 'test-artifacts/**', '.lumenflow/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' }],
    },
  },
  // Plain-JS entry points run on Node directly.
  { files: ['**/*.mjs'], languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } } },
  // Tool configs are the exception: vitest and eslint load a default export.
  { files: ['vitest.config.ts'], rules: { 'no-restricted-syntax': 'off' } },
);
