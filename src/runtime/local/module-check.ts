import { Worker } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

/** How long a module may take to load (its top-level code) before we give up on it. */
export const MODULE_LOAD_TIMEOUT_MS = 10_000;

/**
 * Why a compiled module cannot be loaded here, or undefined when it loads. It is loaded once in a worker thread first,
 * because this process cannot interrupt its own import: a top-level loop would block it for as long as it runs, and a
 * `process.exit()` at import would end it without a word. A worker can be stopped after `timeoutMs`, and its
 * `process.exit()` ends only the worker. What the module prints while loading goes to stderr.
 */
export function moduleLoadProblem(modulePath: string, timeoutMs: number): Promise<string | undefined> {
  const worker = new Worker(LOADER, { eval: true, workerData: pathToFileURL(modulePath).href, stdout: true });
  worker.stdout.pipe(process.stderr);
  let timer: NodeJS.Timeout | undefined;
  return new Promise<string | undefined>((resolve) => {
    timer = setTimeout(
      () => resolve(`it did not finish loading within ${timeoutMs / 1000} s (a long loop at its top level?)`),
      timeoutMs,
    );
    worker.once('message', (problem: string | null) => resolve(problem ?? undefined));
    worker.once('error', (error) => resolve(`it throws while loading: ${error.message}`));
    worker.once('exit', (code) => resolve(`it calls process.exit(${code}) while loading`));
  }).finally(() => {
    clearTimeout(timer);
    void worker.terminate();
  });
}

// CommonJS, as eval'd workers are; the module itself is imported as ESM.
const LOADER = `
const { parentPort, workerData } = require('node:worker_threads');
import(workerData).then(
  () => parentPort.postMessage(null),
  (error) => parentPort.postMessage('it throws while loading: ' + String((error && error.message) || error).split('\\n')[0]),
);
`;
