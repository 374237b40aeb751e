import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmdirSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A swarmlet's flight recorder: one 8-byte file where its host writes the id of each micro-task it
 * starts (one positional write, ~1 µs). A swarmlet killed outright cannot say what it was doing;
 * its parent reads the box after the exit, so only the micro-task that was running pays an attempt
 * and those queued behind it go back for free. Kept in memory-backed /dev/shm where there is one.
 */
const BOX_BYTES = 8;
const NOTHING_STARTED = -1;

const BOX_DIR_PREFIX = 'swarmlet-';

function boxBase(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

/** Where this process keeps its swarmlets' boxes (created on first use, removed by `removeBoxDir`). */
export function blackBoxDir(): string {
  return join(boxBase(), `${BOX_DIR_PREFIX}${process.pid}`);
}

/**
 * Removes the box folders of processes that are gone (killed with -9, they could not clean up), so
 * memory-backed /dev/shm does not fill over a machine's life.
 */
export function sweepStaleBoxDirs(): void {
  let names: string[];
  try {
    names = readdirSync(boxBase());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice(BOX_DIR_PREFIX.length));
    if (name.startsWith(BOX_DIR_PREFIX) && Number.isInteger(pid) && pid > 0 && !isAlive(pid))
      removeBoxDir(join(boxBase(), name));
  }
}

/** Whether a process of this id exists (EPERM: it does, but is not ours). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The parent's side: creates the box before the fork; reads it once the swarmlet has exited. */
export class BlackBox {
  readonly path: string;

  constructor(dir: string, swarmletId: string) {
    mkdirSync(dir, { recursive: true });
    this.path = join(dir, `${swarmletId}.box`);
    const fd = openSync(this.path, 'w');
    writeSync(fd, idBytes(NOTHING_STARTED), 0, BOX_BYTES, 0);
    closeSync(fd);
  }

  /**
   * The micro-task the swarmlet is running (or ran last, if its queue has not emptied since); null:
   * nothing runs; undefined: the box cannot be read.
   */
  read(): number | null | undefined {
    try {
      const fd = openSync(this.path, 'r');
      const bytes = Buffer.alloc(BOX_BYTES);
      const read = readSync(fd, bytes, 0, BOX_BYTES, 0);
      closeSync(fd);
      const id = read === BOX_BYTES ? bytes.readDoubleLE(0) : NOTHING_STARTED;
      return Number.isInteger(id) && id >= 0 ? id : null;
    } catch {
      return undefined;
    }
  }

  /** `read`, once the swarmlet has exited, and the box is gone. */
  readAndRemove(): number | null | undefined {
    const id = this.read();
    rmSync(this.path, { force: true });
    return id;
  }
}

export function removeBoxDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Removes this process's box folder once no provider in it keeps a box there (several swarms may share it). */
export function removeBoxDirIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Another swarm of this process still has swarmlets, or it is gone already.
  }
}

/**
 * The host's side: `record(id)` before each micro-task, `record(-1)` when its queue runs empty (an
 * idle swarmlet killed charges nobody). A missing box records nothing.
 */
export function openBlackBoxWriter(path: string | undefined): (taskId: number) => void {
  if (!path) return () => undefined;
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch {
    return () => undefined;
  }
  const bytes = Buffer.alloc(BOX_BYTES);
  return (taskId) => {
    bytes.writeDoubleLE(taskId, 0);
    writeSync(fd, bytes, 0, BOX_BYTES, 0);
  };
}

function idBytes(id: number): Buffer {
  const bytes = Buffer.alloc(BOX_BYTES);
  bytes.writeDoubleLE(id, 0);
  return bytes;
}
