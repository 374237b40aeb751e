import { describe, expect, it } from 'vitest';
import { MicroTask } from '../src/runtime/jobs/micro-task.js';
import { TaskTable } from '../src/runtime/jobs/task-table.js';

const run = (firstId: number, count: number) =>
  Array.from({ length: count }, (_, i) => new MicroTask(firstId + i, 1, `t${firstId + i}`, 'noop', null, 0, [], -1, 0));

describe('TaskTable', () => {
  it('finds tasks across runs, misses ids between or outside them, and frees emptied runs', () => {
    const table = new TaskTable();
    table.addRun(1, run(1, 3)); // 1..3
    table.addRun(10, run(10, 2)); // 10..11
    table.addRun(12, []); // empty runs are ignored
    expect([1, 2, 3, 10, 11].map((id) => table.get(id)?.id)).toEqual([1, 2, 3, 10, 11]);
    expect([0, 4, 9, 12].map((id) => table.get(id))).toEqual([undefined, undefined, undefined, undefined]);
    expect(table.size).toBe(5);
    table.delete(2);
    table.delete(2); // twice is harmless
    expect(table.get(2)).toBeUndefined();
    expect(table.size).toBe(4);
    table.delete(10);
    table.delete(11);
    expect(table.size).toBe(2);
    expect(table.get(1)?.id).toBe(1);
    expect(table.get(10)).toBeUndefined();
  });

  it('holds runs that cross pages and ids past 2^32 (a long-lived director), and counts what it holds', () => {
    const table = new TaskTable();
    const high = 2 ** 32 - 3;
    table.addRun(4_090, run(4_090, 20)); // 4,090..4,109 spans two pages
    table.addRun(high, run(high, 6)); // 2^32 − 3 .. 2^32 + 2
    expect(table.get(4_095)?.id).toBe(4_095);
    expect(table.get(4_096)?.id).toBe(4_096);
    expect(table.get(2 ** 32 + 1)?.id).toBe(2 ** 32 + 1);
    expect(table.get(1)).toBeUndefined(); // ids wrapped to 32 bits would land here
    expect(table.size).toBe(26);
    for (let id = 4_090; id < 4_110; id++) table.delete(id);
    expect(table.size).toBe(6);
    expect(table.get(4_100)).toBeUndefined();
  });
});
