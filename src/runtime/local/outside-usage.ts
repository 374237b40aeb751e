import { readdirSync, readFileSync } from 'node:fs';

/**
 * What a swarmlet uses, read by its parent from the kernel (/proc): a task cannot lie about it or
 * hide it behind a synchronous loop, as it could with its own monitor's reports. Linux only;
 * elsewhere each read gives undefined and limits rest on the swarmlet's own reports.
 */

/** Clock ticks per second of /proc/<pid>/stat's CPU times (USER_HZ: 100 on Linux's common ABIs). */
const TICKS_PER_SECOND = 100;

/**
 * A process and all its descendants, parents first: what a swarmlet holds is its own and what it started (under
 * bwrap the host is a grandchild of the process we started). Read from every thread's `children`, since any thread may
 * have started a process.
 */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let at = 0; at < tree.length; at++) {
    let threads: string[];
    try {
      threads = readdirSync(`/proc/${tree[at]}/task`);
    } catch {
      continue; // gone meanwhile
    }
    for (const thread of threads) {
      const children = readProc(`/proc/${tree[at]}/task/${thread}/children`);
      for (const child of children?.split(' ') ?? []) if (child.trim() !== '') tree.push(Number(child));
    }
  }
  return tree;
}

/** Resident memory of a process and its descendants in MB; undefined when the process is gone or there is no /proc. */
export function treeResidentMb(pid: number): number | undefined {
  const [own, ...rest] = processTree(pid).map(residentMb);
  return own === undefined ? undefined : rest.reduce<number>((sum, mb) => sum + (mb ?? 0), own);
}

/** CPU time of a process and its live descendants in ms, or undefined. */
export function treeCpuTimeMs(pid: number): number | undefined {
  const [own, ...rest] = processTree(pid).map(cpuTimeMs);
  return own === undefined ? undefined : rest.reduce<number>((sum, ms) => sum + (ms ?? 0), own);
}

/** Resident memory (VmRSS) in MB, or undefined when the process is gone or there is no /proc. */
export function residentMb(pid: number): number | undefined {
  const status = readProc(`/proc/${pid}/status`);
  const kb = status === undefined ? undefined : /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
  return kb === undefined ? undefined : Number(kb) / 1024;
}

/** CPU time used so far (user + system) in ms, or undefined. */
export function cpuTimeMs(pid: number): number | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const user = Number(fields[11]);
  const system = Number(fields[12]);
  return Number.isFinite(user + system) ? ((user + system) * 1000) / TICKS_PER_SECOND : undefined;
}

/** A /proc file's text, or undefined when it cannot be read (the process is gone, or there is no /proc). */
export function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
