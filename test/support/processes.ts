import { readFileSync } from 'node:fs';
import { isAlive } from '../../src/runtime/local/black-box.js';

/** Alive and not a zombie (a killed orphan stays one until its new parent reaps it). */
export function running(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
