import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it, vi } from 'vitest';

// The README's code blocks are the public API's documentation: run them as written.
const root = resolve(import.meta.dirname, '..');
const blocks = [...readFileSync(join(root, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map(
  (match) => match[1]!,
);

it('the README task type and Swarm façade example run and print what they say', async () => {
  const [taskBlock, facadeBlock] = blocks;
  expect(taskBlock).toContain("name: 'word-count'");
  const dir = join(root, '.swarmlet', 'readme-check');
  mkdirSync(join(dir, 'tasks'), { recursive: true });
  const taskPath = join(dir, 'tasks', 'word-count.ts');
  writeFileSync(taskPath, taskBlock!);
  // The example uses a path relative to where you run it; here that is the temp folder.
  writeFileSync(join(dir, 'quickstart.ts'), facadeBlock!.replace("'./tasks/word-count.ts'", JSON.stringify(taskPath)));
  const printed: unknown[][] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void printed.push(args));
  try {
    await import(join(dir, 'quickstart.ts'));
  } finally {
    log.mockRestore();
  }
  const [words, outputs, actions] = printed[0]!;
  expect(words).toBe(6); // 'to be or not to be'
  expect(outputs).toEqual({ b: 1 }); // the DAG's output: its sink, b
  expect(Object.keys(actions as object)).toContain('replicate');
});
