import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { EMPTY_HISTORY, FileHistoryStore, MemoryHistoryStore } from '../src/runtime/stores/history-store.js';
import { historyStoreContract } from './history-store.contract.js';

const dir = mkdtempSync(join(tmpdir(), 'swarmlet-history-'));
let files = 0;
historyStoreContract('memory', () => new MemoryHistoryStore());
historyStoreContract('file', () => new FileHistoryStore(join(dir, `history-${files++}`, 'history.json')));

it('file store: a corrupt file is ignored with a warning instead of failing the run', async () => {
  const path = join(dir, 'corrupt.json');
  writeFileSync(path, '{ "version": 1, "jobs": ');
  const warnings: string[] = [];
  const store = new FileHistoryStore(path, (message) => warnings.push(message));
  expect(await store.read()).toEqual(EMPTY_HISTORY);
  expect(warnings[0]).toMatch(/corrupt\.json is not valid/);
  await store.write({ version: 1, jobs: {} }); // and it can be repaired by the next run
  expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ version: 1, jobs: {} });
});
