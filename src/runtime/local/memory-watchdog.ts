import { Worker } from 'node:worker_threads';

/** Kills remembered at once (pid, MB held); older ones are overwritten, by then long reported. */
const VERDICT_SLOTS = 1024;

/**
 * The outside memory limit where there are no cgroups: a thread of its own reads each swarmlet's
 * resident memory from /proc every few ms and kills one over its limit at once, so a director
 * loop busy with a big submit cannot delay it. It leaves its verdict (pid, MB held) in shared
 * memory before the kill, so whoever handles the exit can say why.
 */
const WATCHDOG_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { readdirSync, readFileSync } = require('node:fs');
const read = (path) => { try { return readFileSync(path, 'utf8'); } catch { return undefined; } };
// A swarmlet's memory is its own and its descendants' (as processTree in outside-usage.ts).
const treeKb = (pid) => {
  const tree = [pid];
  let kb = 0;
  for (let at = 0; at < tree.length; at++) {
    const status = read('/proc/' + tree[at] + '/status');
    if (status === undefined) { if (at === 0) return undefined; continue; }
    kb += Number(/^VmRSS:\\s+(\\d+) kB/m.exec(status)?.[1] ?? 0);
    let threads = [];
    try { threads = readdirSync('/proc/' + tree[at] + '/task'); } catch {}
    for (const thread of threads)
      for (const child of (read('/proc/' + tree[at] + '/task/' + thread + '/children') ?? '').split(' '))
        if (child.trim() !== '') tree.push(Number(child));
  }
  return kb;
};
const verdicts = new Int32Array(workerData.buffer);
const pids = new Set();
let next = 0;
parentPort.on('message', (message) => (message.watch ? pids.add(message.watch) : pids.delete(message.unwatch)));
setInterval(() => {
  for (const pid of pids) {
    const kb = treeKb(pid);
    if (kb === undefined) {
      pids.delete(pid);
      continue;
    }
    if (kb / 1024 <= workerData.limitMb) continue;
    const slot = (next++ % ${VERDICT_SLOTS}) * 2;
    Atomics.store(verdicts, slot + 1, Math.round(kb / 1024));
    Atomics.store(verdicts, slot, pid);
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL'); // its process group (its descendants), then itself
      } catch {}
    }
    pids.delete(pid);
  }
}, workerData.everyMs);
`;

export class MemoryWatchdog {
  private readonly verdicts = new Int32Array(new SharedArrayBuffer(VERDICT_SLOTS * 2 * 4));
  private readonly worker: Worker;

  constructor(limitMb: number, everyMs: number) {
    this.worker = new Worker(WATCHDOG_SOURCE, {
      eval: true,
      workerData: { buffer: this.verdicts.buffer, limitMb, everyMs },
    });
    this.worker.unref();
  }

  watch(pid: number): void {
    this.worker.postMessage({ watch: pid });
  }

  unwatch(pid: number): void {
    this.worker.postMessage({ unwatch: pid });
  }

  /** The resident MB at which the watchdog killed `pid`, or undefined if it did not. */
  killedAtMb(pid: number): number | undefined {
    for (let slot = 0; slot < VERDICT_SLOTS * 2; slot += 2) {
      if (Atomics.load(this.verdicts, slot) === pid) return Atomics.load(this.verdicts, slot + 1);
    }
    return undefined;
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
