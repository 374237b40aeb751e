// Lint: TypeScript rules everywhere, plus the purity rule for the decision core.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const pureFolders = ['src/core/**', 'src/predict/**', 'src/decide/**', 'src/schedule/**', 'src/place/**'];
const impureGlobals = [
  'Date',
  'process',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'clearTimeout',
  'clearInterval',
  'performance',
  'queueMicrotask',
].map((name) => ({
  name,
  message: 'Pure decision code takes time and effects as arguments (DESIGN.md): pass nowMs / a Clock / an Rng in.',
}));

export default tseslint.config(
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
  { ignores: ['dist/**', 'node_modules/**', '.swarmlet/**', 'bench-results/**', 'test/fixtures/broken-*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      // Prettier wraps code at 120; comments must fit too. Long messages stay whole so they can be grepped.
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreRegExpLiterals: true, ignoreUrls: true },
      ],
    },
  },
  {
    files: pureFolders,
    rules: {
      'no-restricted-globals': ['error', ...impureGlobals],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'os', 'child_process', 'worker_threads'],
              message: 'Pure folders import nothing impure.',
            },
          ],
        },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'Math', property: 'random', message: 'Use a seeded Rng passed in.' },
      ],
    },
  },
  {
    // The dashboard runs in the browser: plain ES modules, uPlot loaded as a global by index.html.
    files: ['src/dashboard/**/*.js'],
    languageOptions: {
      globals: Object.fromEntries(
        [
          'window',
          'document',
          'location',
          'history',
          'sessionStorage',
          'fetch',
          'EventSource',
          'Node',
          'requestAnimationFrame',
          'ResizeObserver',
          'URLSearchParams',
          'confirm',
          'uPlot',
        ].map((name) => [name, 'readonly']),
      ),
    },
  },
  {
    // The runtime runs in every environment (wall clock, epoch clock, virtual clock): its time and timers come from
    // the Environment (src/core/environment.ts), never from the globals.
    files: ['src/runtime/**', 'src/swarm.ts', 'src/swarm-checks.ts'],
    ignores: [
      // The real world's Environment itself: Node's timers, the monotonic and epoch clocks.
      'src/runtime/local/wall-environment.ts',
      // Runs inside each swarmlet's own process (a bundle kept light), always on the real clock: no simulator runs it.
      'src/runtime/local/swarmlet-host.ts',
    ],
    rules: {
      'no-restricted-globals': [
        'error',
        ...['Date', 'setTimeout', 'setInterval', 'setImmediate', 'clearTimeout', 'clearInterval', 'performance'].map(
          (name) => ({ name, message: 'Take time and timers from the Environment (src/core/environment.ts).' }),
        ),
      ],
    },
  },
);
