// Bundles the CLI, the public API, the swarmlet host and the benchmark with esbuild.
// The host is one file so a swarmlet's cold start loads as little as a bare `node` child.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Keep npm packages external: they resolve from node_modules at run time.
  packages: 'external',
};

// The benchmark is built only for `npm run bench` (`--bench`), so installs never depend on it.
const withBench = process.argv.includes('--bench');

await build({
  ...common,
  entryPoints: {
    cli: 'src/cli/main.ts',
    index: 'src/index.ts',
    'swarmlet-host': 'src/runtime/local/swarmlet-host.ts',
    vopr: 'src/sim/vopr/main.ts',
    ...(withBench && { bench: 'bench/main.ts', 'sim-digest': 'bench/sim-digest.ts' }),
  },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
});
