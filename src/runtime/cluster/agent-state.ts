/**
 * Stateful task types in cluster mode: state shared through Redis, so it moves with a swarmlet that
 * is specialized, stopped or migrated to another node (the semantics of runtime/task-state.ts):
 *
 * - Before a local swarmlet leaves a stateful type (retired, specialized away, the agent stopping
 *   gracefully, consent revoked), the agent asks it for a snapshot and writes it to
 *   `P:state:<type>` with the module's hash and the time: last writer wins, across agents.
 * - A swarmlet started for a stateful type, or specialized to one, restores `P:state:<type>` as it
 *   is then. On this node a new server of a type waits until a local swarmlet leaving that type has
 *   saved; two nodes handing one type over at the same moment are not ordered: the newcomer may
 *   restore the state saved before.
 * - While they work, serving stateful swarmlets checkpoint their state every `checkpointMs`
 *   (30 s by default) if they ran micro-tasks since. An agent killed outright (kill -9, power loss)
 * saves nothing more: what its swarmlets did since the last save is lost. A micro-task cut short by a stop may be in
 * the saved state and also
 *   run again elsewhere (micro-tasks are at-least-once).
 * - Stateless types cost nothing after the first load of a module: its `ready` says it is stateless,
 *   and from then on neither a message nor a Redis read is spent on it.
 *
 * Answers come straight from the provider's events (not through the agent's serial chain), so a
 * step of the chain may wait for them, bounded.
 */
import type { Environment } from '../../core/environment.js';
import type { LogFields, Logger } from '../../core/logger.js';
import type { Redis } from 'ioredis';
import type { Provider } from '../provider.js';
import { STATE_TIMEOUT_MS, type StateAnswer } from '../task-state.js';
import type { LocalSwarmlet } from './agent-swarmlets.js';
import { keys, parseStored, taskStateRecordSchema, type TaskStateRecord } from './protocol.js';

/** Renames KEYS[1] to KEYS[2] if it still holds ARGV[1]; 1 if moved. */
const SET_ASIDE =
  "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('RENAME', KEYS[1], KEYS[2]) return 1 end return 0";

export interface AgentStatesOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly nodeId: string;
  readonly provider: Provider;
  /** Where time and timers come from (the agent's environment). */
  readonly environment: Environment;
  readonly logger: Logger;
  /** A warning about `topic` (rate-limited by the agent). */
  readonly warn?: (topic: string, line: string, fields?: LogFields) => void;
}

interface Ask {
  readonly taskType: string;
  settle(answer: StateAnswer): void;
}

export class AgentStates {
  /** Awaited answers, by process id, oldest first: a process answers snapshots in the order asked. */
  private readonly asks = new Map<string, Ask[]>();
  /** Whether a module (by hash) has snapshot/restore, as its `ready` said. */
  private readonly statefulByHash = new Map<string, boolean>();
  /** States written to Redis (for status displays and tests). */
  saves = 0;

  constructor(private readonly options: AgentStatesOptions) {}

  noteModule(hash: string, stateful: boolean): void {
    this.statefulByHash.set(hash, stateful);
  }

  /**
   * The saved state for a swarmlet about to serve the type: `{ state }`, `state` undefined when none
   * is saved (or the module is known to be stateless: no read). A record that does not parse can
   * never be restored: it is moved to `<key>:unreadable` for a human, said, and the type starts with
   * no state (rather than waiting for a repair nobody may make, while its jobs wait silently).
   */
  async read(taskType: string, hash: string): Promise<{ readonly state: unknown }> {
    if (this.statefulByHash.get(hash) === false) return { state: undefined };
    const key = keys(this.options.prefix).state(taskType);
    const raw = await this.options.redis.get(key);
    try {
      const record = parseStored(taskStateRecordSchema, raw, key);
      if (record !== undefined && record.taskType !== taskType)
        throw new Error(`${key}: taskType: "${record.taskType}" is another type, expected "${taskType}"`);
      return { state: record?.state };
    } catch (error) {
      await this.setAside(key, raw!, (error as Error).message);
      return { state: undefined };
    }
  }

  /** Moves an unreadable record aside, unless a valid one replaced it meanwhile (then the next read gets that). */
  private async setAside(key: string, raw: string, problem: string): Promise<void> {
    const moved = await this.options.redis.eval(SET_ASIDE, 2, key, `${key}:unreadable`, raw);
    if (moved === 0) return;
    const line = `${problem}: moved to ${key}:unreadable; ${key.split(':').at(-1)} starts with no saved state. Fix: none needed; inspect that key to see what wrote it`;
    const fields = { key };
    if (this.options.warn) this.options.warn(key, line, fields);
    else this.options.logger.warn(fields, line);
  }

  /**
   * Asks the swarmlet for its type's state and writes it to `P:state:<type>`. Never rejects: a failure is said in the
   * log.
   */
  async save(swarmlet: LocalSwarmlet, timeoutMs = STATE_TIMEOUT_MS): Promise<void> {
    const { id, processId, taskType, hash } = swarmlet;
    const key = keys(this.options.prefix).state(taskType);
    const answer = await new Promise<StateAnswer>((resolve) => {
      const ask: Ask = {
        taskType,
        settle: (result) => {
          cancel();
          const left = (this.asks.get(processId) ?? []).filter((other) => other !== ask);
          if (left.length > 0) this.asks.set(processId, left);
          else this.asks.delete(processId);
          resolve(result);
        },
      };
      const cancel = this.options.environment.timers.after(timeoutMs, () =>
        ask.settle({ message: `no answer in ${timeoutMs} ms` }),
      );
      this.asks.set(processId, [...(this.asks.get(processId) ?? []), ask]);
      this.options.provider.snapshot(processId, taskType);
    });
    if ('message' in answer)
      return this.options.logger.warn(
        { swarmletId: id, taskType },
        `${id}: state of ${taskType} not saved: ${answer.message}; ${key} keeps the state saved before`,
      );
    const record: TaskStateRecord = {
      taskType,
      hash,
      atMs: this.options.environment.clock.nowMs(),
      nodeId: this.options.nodeId,
      swarmletId: id,
      state: answer.state,
    };
    try {
      await this.options.redis.set(key, JSON.stringify(record));
      this.saves += 1;
      this.options.logger.info({ swarmletId: id, taskType }, `${id}: saved the state of ${taskType} to ${key}`);
    } catch (error) {
      this.options.logger.warn(
        { swarmletId: id, taskType },
        `${id}: state of ${taskType} not saved: ${key}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  }

  /** A swarmlet's answer to `snapshot` (ignored unless awaited for that type). */
  answered(processId: string, taskType: string, answer: StateAnswer): void {
    const ask = this.asks.get(processId)?.[0];
    if (ask?.taskType === taskType) ask.settle(answer);
  }

  /** The process exited: an awaited answer will never come. */
  gone(processId: string): void {
    for (const ask of this.asks.get(processId) ?? []) ask.settle({ message: 'the swarmlet exited before it answered' });
  }
}
