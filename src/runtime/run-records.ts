import type { Action } from '../core/actions.js';
import type { ActionRecord, FaultRecord } from './run-report.js';
import type { SwarmletRecord } from './swarmlet-record.js';

/** Bounds on what a long-lived swarm remembers for its summary. */
const HISTORY_LIMIT = 256;
const ACTION_LOG_LIMIT = 10_000;

/** What the orchestrator keeps for its summary only: the actions it took, the faults it saw, stopped swarmlets. */
export class RunRecords {
  readonly actionLog: ActionRecord[] = [];
  actionsLogged = 0;
  /** Actions taken since the start, per kind (the log keeps only the last ones). */
  readonly actionCounts = new Map<string, number>();
  /** Stopped swarmlets, kept (bounded) for the summary only: the live map stays small in a long-lived swarm. */
  readonly stopped: SwarmletRecord[] = [];
  readonly faults: FaultRecord[] = [];

  logAction(atMs: number, action: Action): void {
    this.actionLog.push({ atMs, action });
    this.actionsLogged += 1;
    this.actionCounts.set(action.kind, (this.actionCounts.get(action.kind) ?? 0) + 1);
    if (this.actionLog.length > ACTION_LOG_LIMIT) this.actionLog.shift();
  }

  keepStopped(swarmlet: SwarmletRecord): void {
    this.stopped.push(swarmlet);
    if (this.stopped.length > HISTORY_LIMIT) this.stopped.shift();
  }
}
