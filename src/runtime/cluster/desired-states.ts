import type { Redis } from 'ioredis';
import { shown } from './director-lease.js';
import { scanKeys } from './live-nodes.js';
import { isWrongType } from './redis-repair.js';
import { desiredStateSchema, parseStored, type ClusterKeys, type DesiredState } from './protocol.js';

/**
 * The desired state per node as the director writes it, kept as written, so the director can check
 * that Redis still holds it: a value some Redis user overwrote (or deleted) is written again and
 * said, instead of the agent keeping stale swarmlets until the node's next placement.
 */
export class DesiredStates {
  /** By node id: the JSON this director wrote or took over. */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly redis: Redis,
    private readonly k: ClusterKeys,
    private readonly prefix: string,
    private readonly warn: (topic: string, line: string) => void,
  ) {}

  /** At takeover: every node's desired state as the last director left it; a garbled one is deleted (placed afresh). */
  async readAll(): Promise<Map<string, DesiredState>> {
    const states = new Map<string, DesiredState>();
    for (const key of await scanKeys(this.redis, `${this.prefix}:desired:*`)) {
      const nodeId = key.slice(`${this.prefix}:desired:`.length);
      try {
        const raw = await this.redis.get(key).catch((error: unknown) => {
          throw isWrongType(error) ? new Error(`${key}: holds another Redis type`) : error;
        });
        const state = parseStored(desiredStateSchema, raw, key);
        if (state === undefined) continue;
        states.set(nodeId, state);
        this.written.set(nodeId, raw!);
      } catch (error) {
        await this.redis.del(key);
        this.warn(
          key,
          `${(error as Error).message}: deleted. Fix: leave ${key} to the director; the node is placed afresh`,
        );
      }
    }
    return states;
  }

  async write(nodeId: string, state: DesiredState): Promise<void> {
    const text = JSON.stringify(state);
    this.written.set(nodeId, text);
    await this.redis.set(this.k.desired(nodeId), text);
    await this.redis.publish(this.k.desiredChanged, nodeId);
  }

  /** Writes again each node's desired state that Redis no longer holds as written (one MGET). */
  async verify(): Promise<void> {
    const nodeIds = [...this.written.keys()];
    if (nodeIds.length === 0) return;
    const held = await this.redis.mget(...nodeIds.map((nodeId) => this.k.desired(nodeId)));
    for (const [i, nodeId] of nodeIds.entries()) {
      const text = this.written.get(nodeId)!;
      if (held[i] === text) continue;
      const key = this.k.desired(nodeId);
      this.warn(
        key,
        `${key} held ${held[i] === null ? 'nothing' : shown(held[i]!)}, not what this director wrote: written again. Fix: leave ${key} to the director; stop whatever writes it`,
      );
      await this.write(nodeId, JSON.parse(text) as DesiredState);
    }
  }
}
