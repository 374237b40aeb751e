import { describe, expect, it } from 'vitest';
import { EMPTY_HISTORY, type History, type HistoryStore } from '../src/runtime/stores/history-store.js';

const sample: History = {
  version: 1,
  jobs: {
    'alice/file-pipeline': {
      runs: 2,
      types: [
        { taskType: 'hash', firstDemandOffsetMs: 0.5, peakSwarmlets: 2 },
        { taskType: 'index', firstDemandOffsetMs: 4200, peakSwarmlets: 1 },
      ],
    },
  },
};

/** The one contract every history store meets (memory and file now; Redis in cluster mode). */
export function historyStoreContract(name: string, make: () => Promise<HistoryStore> | HistoryStore): void {
  describe(`history store contract: ${name}`, () => {
    it('starts empty', async () => {
      expect(await (await make()).read()).toEqual(EMPTY_HISTORY);
    });

    it('reads back what it wrote, and the last write wins', async () => {
      const store = await make();
      await store.write(sample);
      expect(await store.read()).toEqual(sample);
      const next: History = { version: 1, jobs: { ...sample.jobs, 'bob/sort': { runs: 1, types: [] } } };
      await store.write(next);
      expect(await store.read()).toEqual(next);
    });

    it('hands out copies: changing what was read does not change the store', async () => {
      const store = await make();
      await store.write(sample);
      const read = (await store.read()) as { jobs: Record<string, unknown> };
      delete read.jobs['alice/file-pipeline'];
      expect(await store.read()).toEqual(sample);
    });
  });
}
