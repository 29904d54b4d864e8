/**
 * `npm run lint` runs this: no module may reach itself again through its imports, within a package or
 * across packages. Type-only imports count (tsPreCompilationDeps): a circle held together by types
 * still means neither module can be read, moved or tested without the other.
 * @type {import('dependency-cruiser').IConfiguration}
 */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Move what both sides need into a module below both (types, shared helpers), so the imports point one way.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['(^|/)dist/', '(^|/)node_modules/', '(^|/)\\.cache/', '(^|/)run/', '\\.venv/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // The workspaces' packages resolve to their TypeScript sources (the "source" export condition, as
    // tsconfig.json and vitest use), so a circle through another package's entry point is followed too.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['source', 'import', 'types', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.json', '.d.ts'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
