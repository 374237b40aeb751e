import { expect, it } from 'vitest';
import { JobHistory } from '../src/runtime/job-history.js';
import { EMPTY_HISTORY } from '../src/runtime/stores/history-store.js';

it("a job's profile keeps, per type it needed, the most swarmlets that served it from its first demand on", () => {
  const history = new JobHistory(EMPTY_HISTORY, undefined, () => undefined);
  history.started(1, 'alice/pipeline', 1_000);
  history.pool(new Map([['render', 9]])); // another job's render swarmlets, before this one needs render
  history.demand(1, 'parse', 1_000);
  history.pool(
    new Map([
      ['parse', 3],
      ['render', 9],
      ['other', 40],
    ]),
  );
  history.demand(1, 'render', 1_500);
  history.pool(
    new Map([
      ['parse', 1],
      ['render', 2],
    ]),
  );
  history.ended(1, true);
  history.started(2, 'alice/pipeline', 5_000);
  expect(history.profiles()).toEqual([
    {
      jobKey: 'alice/pipeline',
      startedAtMs: 5_000,
      runs: 1,
      types: [
        { taskType: 'parse', firstDemandOffsetMs: 0, peakSwarmlets: 3 },
        { taskType: 'render', firstDemandOffsetMs: 500, peakSwarmlets: 2 },
      ],
    },
  ]);
});
