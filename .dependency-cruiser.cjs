/** Import rules: no cycles; pure folders never reach into the runtime, the CLI or node builtins. */
const pure = '^src/(core|predict|decide|schedule|place)/';
module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'pure-stays-pure',
      comment: 'Decision code is pure: state in, actions out (DESIGN.md).',
      severity: 'error',
      from: { path: pure },
      to: { path: '^src/(runtime|cli|sim|api|dashboard)/|^src/index\\.ts$' },
    },
    { name: 'pure-no-node-builtins', severity: 'error', from: { path: pure }, to: { dependencyTypes: ['core'] } },
    {
      name: 'nothing-below-runtime-calls-up',
      severity: 'error',
      from: { path: '^src/runtime/' },
      to: { path: '^src/(cli|api|dashboard)/|^src/index\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
