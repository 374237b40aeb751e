import type { Environment } from '../../core/environment.js';
import type { NodeAdvertisement } from '../../place/node-probe.js';
import type { BrokerTask } from '../../runtime/brokers/broker.js';
import type { LiveNode } from '../../runtime/cluster/cluster-pool.js';
import type { DesiredState, SwarmletStatus } from '../../runtime/cluster/protocol.js';
import type { NodeModel } from './node-mix.js';

/** What a simulated node needs from the cluster around it: the queue per type, and where results and costs go. */
export interface SimWork {
  /** The next waiting micro-task of the type (the BullMQ queue), if any. */
  take(taskType: string): BrokerTask | undefined;
  /** An idle swarmlet found nothing to take: it is offered the next micro-task of its type that arrives. */
  waiting(swarmlet: SimSwarmlet): void;
  notWaiting(swarmlet: SimSwarmlet): void;
  runtimeMs(task: BrokerTask): number;
  done(swarmlet: SimSwarmlet, task: BrokerTask, startMs: number, endMs: number): void;
  /** A swarmlet stopped (retired, or its node left) after holding a slot since `startedAtMs`. */
  stopped(swarmlet: SimSwarmlet, nowMs: number): void;
}

export interface SimSwarmlet {
  readonly id: string;
  readonly node: SimNode;
  taskType: string;
  state: 'starting' | 'idle' | 'busy' | 'draining';
  readonly startedAtMs: number;
  running: { readonly task: BrokerTask; readonly startMs: number; readonly cancel: () => void } | undefined;
  /** Specialize to this type once the micro-task in flight ends (the agent's rule: never cut one short). */
  pendingType: string | undefined;
  retiring: boolean;
  tasksDone: number;
}

/**
 * A simulated agent: it reconciles its swarmlets toward the desired state the director's pool wrote for it (start:
 * a cold start; specialize: a module load in the same swarmlet once it is empty; retire: stop once empty), takes
 * micro-tasks of each swarmlet's type from the queue one at a time, and heart-beats every `heartbeatMs` until it
 * leaves. A node that leaves stops beating; its key outlives it by the TTL, as in Redis.
 */
export class SimNode {
  readonly swarmlets = new Map<string, SimSwarmlet>();
  leftAtMs: number | undefined;
  completed = 0;
  private version = -1;
  private beat: LiveNode | undefined;

  constructor(
    readonly advertisement: NodeAdvertisement,
    readonly model: NodeModel,
    private readonly environment: Environment,
    private readonly work: SimWork,
    /** Its heartbeats fall at `phaseMs + k × heartbeatMs`. */
    private readonly phaseMs: number,
    private readonly heartbeatMs: number,
  ) {}

  get id(): string {
    return this.advertisement.nodeId;
  }

  /** What the director reads this tick: the latest heartbeat, if its key has not expired (`ttlMs` after it). */
  liveNode(nowMs: number, ttlMs: number): LiveNode | undefined {
    const until = this.leftAtMs ?? nowMs;
    if (until < this.phaseMs) return undefined;
    const atMs = this.phaseMs + Math.floor((until - this.phaseMs) / this.heartbeatMs) * this.heartbeatMs;
    if (nowMs - atMs >= ttlMs) return undefined;
    // One heartbeat per beat: the director reads the same one until the next (what it says is as of its first read).
    if (this.beat?.heartbeat.atMs === atMs) return this.beat;
    const swarmlets: SwarmletStatus[] = [];
    for (const s of this.swarmlets.values())
      swarmlets.push({
        id: s.id,
        taskType: s.taskType,
        state: s.state,
        inFlight: s.running === undefined ? 0 : 1,
        tasksDone: s.tasksDone,
        ...(s.running && { busyForMs: Math.max(0, nowMs - s.running.startMs) }),
      });
    const heartbeat = { advertisement: this.advertisement, atMs, idle: true, swarmlets, completed: this.completed };
    this.beat = { advertisement: this.advertisement, heartbeat: { ...heartbeat, failed: 0, rttMs: this.model.rttMs } };
    return this.beat;
  }

  /** Carries out a desired state (a stale version is ignored, as agents do). */
  reconcile(desired: DesiredState): void {
    if (this.leftAtMs !== undefined || desired.version <= this.version) return;
    this.version = desired.version;
    const wanted = new Map(desired.swarmlets.map((s) => [s.id, s.taskType]));
    for (const s of [...this.swarmlets.values()]) {
      const taskType = wanted.get(s.id);
      if (taskType === undefined) this.retire(s);
      else if (taskType !== (s.pendingType ?? s.taskType)) this.specialize(s, taskType);
    }
    for (const [id, taskType] of wanted) if (!this.swarmlets.has(id)) this.start(id, taskType);
  }

  /** The node leaves at once (closed lid, lost power): returns the micro-tasks it had in flight, now lost. */
  leave(nowMs: number): BrokerTask[] {
    this.leftAtMs = nowMs;
    const lost: BrokerTask[] = [];
    for (const s of this.swarmlets.values()) {
      if (s.running) {
        s.running.cancel();
        lost.push(s.running.task);
      }
      this.stop(s);
    }
    return lost;
  }

  /** A micro-task arrived for a waiting swarmlet. */
  run(s: SimSwarmlet, task: BrokerTask): void {
    const nowMs = this.environment.clock.nowMs();
    // The pull is one round trip to Redis; the result travels back within the next one.
    const startMs = nowMs + this.model.rttMs;
    const endMs = startMs + this.work.runtimeMs(task);
    s.state = 'busy';
    s.running = {
      task,
      startMs,
      cancel: this.environment.timers.after(endMs - nowMs, () => {
        s.running = undefined;
        s.tasksDone += 1;
        this.completed += 1;
        this.work.done(s, task, startMs, endMs);
        this.offer(s);
      }),
    };
  }

  private start(id: string, taskType: string): void {
    const s: SimSwarmlet = {
      id,
      node: this,
      taskType,
      state: 'starting',
      startedAtMs: this.environment.clock.nowMs(),
      running: undefined,
      pendingType: undefined,
      retiring: false,
      tasksDone: 0,
    };
    this.swarmlets.set(id, s);
    this.environment.timers.after(this.model.coldStartMs, () => this.ready(s));
  }

  private ready(s: SimSwarmlet): void {
    if (this.swarmlets.get(s.id) !== s || s.state !== 'starting') return;
    s.state = 'idle';
    this.offer(s);
  }

  /** An idle swarmlet carries out what waited for it to empty, or takes the next micro-task of its type. */
  private offer(s: SimSwarmlet): void {
    if (s.retiring) return this.stop(s);
    if (s.pendingType !== undefined) {
      const taskType = s.pendingType;
      s.pendingType = undefined;
      return this.load(s, taskType);
    }
    s.state = 'idle';
    const task = this.work.take(s.taskType);
    if (task) this.run(s, task);
    else this.work.waiting(s);
  }

  private retire(s: SimSwarmlet): void {
    if (s.running) {
      s.retiring = true;
      s.state = 'draining';
    } else this.stop(s);
  }

  private specialize(s: SimSwarmlet, taskType: string): void {
    s.retiring = false;
    if (s.running) s.pendingType = taskType;
    else this.load(s, taskType);
  }

  private load(s: SimSwarmlet, taskType: string): void {
    this.work.notWaiting(s);
    s.taskType = taskType;
    s.state = 'starting';
    this.environment.timers.after(this.model.loadMs, () => this.ready(s));
  }

  private stop(s: SimSwarmlet): void {
    this.work.notWaiting(s);
    this.swarmlets.delete(s.id);
    this.work.stopped(s, this.environment.clock.nowMs());
  }
}
