import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import type { Timers } from '../../core/environment.js';
import { wallEnvironment } from './wall-environment.js';

/** How long a module may take to load (its top-level code) before we give up on it. */
export const MODULE_LOAD_TIMEOUT_MS = 10_000;

/**
 * Why a compiled module cannot be loaded here, or undefined when it loads. It is loaded once in a worker thread first,
 * because this process cannot interrupt its own import: a top-level loop would block it for as long as it runs, and a
 * `process.exit()` at import would end it without a word. A worker can be stopped after `timeoutMs` (on `timers`),
 * and its `process.exit()` ends only the worker. What the module prints while loading goes to stderr, each line
 * prefixed with `name`.
 */
export function moduleLoadProblem(
  modulePath: string,
  timeoutMs: number,
  name = basename(modulePath),
  timers: Timers = wallEnvironment.timers,
): Promise<string | undefined> {
  const workerData = pathToFileURL(modulePath).href;
  const worker = new Worker(LOADER, { eval: true, workerData, stdout: true, stderr: true });
  prefixLines(worker.stdout, name);
  prefixLines(worker.stderr, name);
  let cancel: (() => void) | undefined;
  return new Promise<string | undefined>((resolve) => {
    cancel = timers.after(
      timeoutMs,
      () => resolve(`it did not finish loading within ${timeoutMs / 1000} s (a long loop at its top level?)`),
      { keepAlive: true },
    );
    worker.once('message', (problem: string | null) => resolve(problem ?? undefined));
    worker.once('error', (error) => resolve(`it throws while loading: ${error.message}`));
    worker.once('exit', (code) => resolve(`it calls process.exit(${code}) while loading`));
  }).finally(() => {
    cancel?.();
    void worker.terminate();
  });
}

/** Each line the module prints goes to stderr as `swarmlet <file name>: line`, so it is clear where it came from. */
function prefixLines(stream: Readable, name: string): void {
  createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) =>
    process.stderr.write(`swarmlet ${name}: ${line}\n`),
  );
}

// CommonJS, as eval'd workers are; the module itself is imported as ESM.
// A worker's write callback runs once the parent has the chunk: answer only then, so no printed line is lost.
const LOADER = `
const { parentPort, workerData } = require('node:worker_threads');
const answer = (problem) =>
  process.stdout.write('', () => process.stderr.write('', () => parentPort.postMessage(problem)));
import(workerData).then(
  () => answer(null),
  (error) => answer('it throws while loading: ' + String((error && error.message) || error).split('\\n')[0]),
);
`;
