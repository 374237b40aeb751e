/** TaskLogBook: what tasks print is kept per swarmlet and per micro-task, bounded whatever they print. */
import { expect, it } from 'vitest';
import { TaskLogBook } from '../src/runtime/task-log-book.js';

const LIMITS = { linesPerSwarmlet: 200, linesPerMicroTask: 50, swarmlets: 4, microTasks: 10 };

it('attributes a line to the micro-task whose [label] the host put on it; other lines only to the swarmlet', () => {
  const book = new TaskLogBook(LIMITS);
  book.record(1, 's1', 'loading big table');
  book.record(2, 's1', '[a/0] hello [not a label]');
  book.record(3, 's2', '[b] from b');
  expect(book.lines({ swarmletId: 's1' })).toEqual([
    { atMs: 1, swarmletId: 's1', line: 'loading big table' },
    { atMs: 2, swarmletId: 's1', microTaskId: 'a/0', line: 'hello [not a label]' },
  ]);
  expect(book.lines({ microTaskId: 'a/0' })).toEqual([
    { atMs: 2, swarmletId: 's1', microTaskId: 'a/0', line: 'hello [not a label]' },
  ]);
  expect(book.lines({ microTaskId: 'b' })).toEqual([{ atMs: 3, swarmletId: 's2', microTaskId: 'b', line: 'from b' }]);
  expect(book.lines({ swarmletId: 'nobody' })).toEqual([]);
});

it('a task printing 100,000 lines (each at the 4096-char cut): the last lines kept, memory bounded', () => {
  const book = new TaskLogBook(LIMITS);
  const body = 'x'.repeat(4096 - 12);
  for (let i = 0; i < 100_000; i++) book.record(i, 's1', `[t] ${String(i).padStart(8, '0')}${body}`);
  const ofSwarmlet = book.lines({ swarmletId: 's1' });
  const ofTask = book.lines({ microTaskId: 't' });
  expect(ofSwarmlet).toHaveLength(200);
  expect(ofTask).toHaveLength(50);
  expect(ofSwarmlet.map((l) => l.atMs)).toEqual(Array.from({ length: 200 }, (_, i) => 99_800 + i)); // oldest first
  expect(ofTask.at(-1)!.line.startsWith('00099999')).toBe(true);
  const keptChars = [...ofSwarmlet, ...ofTask].reduce((sum, l) => sum + l.line.length, 0);
  expect(keptChars).toBeLessThanOrEqual((200 + 50) * 4096); // ≈1 MB, not the 400 MB printed
});

it('keeps at most N micro-tasks and swarmlets, forgetting the least recently written', () => {
  const book = new TaskLogBook(LIMITS);
  for (let i = 0; i < 1_000; i++) book.record(i, `s${i % 7}`, `[m${i}] line`);
  book.record(1_000, 's0', '[m990] again'); // m990 written again: now the most recent
  for (let i = 1_001; i < 1_010; i++) book.record(i, 's1', `[n${i}] line`);
  expect(book.kept).toEqual({ swarmlets: 4, microTasks: 10 });
  expect(book.lines({ microTaskId: 'm990' }).map((l) => l.line)).toEqual(['line', 'again']);
  expect(book.lines({ microTaskId: 'm991' })).toEqual([]); // older than m990's second line: gone
  expect(book.lines({ swarmletId: 's1' }).at(-1)!.line).toBe('line');
  expect(book.lines({ swarmletId: 's2' })).toEqual([]); // s2 wrote longest ago of the seven
});
