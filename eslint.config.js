import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The services a stage of the data path is made of; none may reach into another's src/ (they talk
// through files, HTTP and Elasticsearch, and share code only through the common/ packages).
const SERVICES = ['api', 'log-shipper', 'analyzer', 'watcher-rules', 'remediator', 'nginx', 'kibana', 'cli', 'elasticsearch', 'common/contract', 'common/runtime'];
const internalsOf = (service) => [`**/${service}/src/**`, `**/${service}/test/**`, `**/${service}/dist/**`];

export default tseslint.config(
  { ignores: ['node_modules/', '.cache/', '**/.venv/', 'run/', '**/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      // Type-aware rules (floating promises) read the one tsconfig that covers sources, tests and benches.
      parserOptions: { project: './tsconfig.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // A promise nobody awaits loses its rejection: await it, return it, or mark it `void` on purpose.
      '@typescript-eslint/no-floating-promises': 'error',
      'no-console': 'off',
    },
  },
  ...SERVICES.map((service) => ({
    files: [`${service}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: SERVICES.filter((s) => s !== service && !service.startsWith(`${s}/`)).flatMap(internalsOf).map((p) => p.replace('**/', '../**/')),
              message: "import another package through its package name (@mlmon/...), never its src/, test/ or dist/",
            },
          ],
        },
      ],
    },
  })),
  {
    files: ['bench/**/*.ts', 'scripts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['../**/src/**', '../**/test/**', '../**/dist/**'], message: 'benches and scripts use packages (@mlmon/...), not their internals' }] },
      ],
    },
  },
  { files: ['**/*.js', '**/*.mjs'], ...tseslint.configs.disableTypeChecked },
);
