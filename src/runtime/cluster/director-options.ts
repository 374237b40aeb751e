import type { Clock } from '../../core/clock.js';
import type { Environment } from '../../core/environment.js';
import type { Logger } from '../../core/logger.js';
import type { Policy } from '../../decide/policy.js';
import type { PaymentRule } from '../../place/auction.js';
import type { AdmissionLimits } from '../../schedule/admission.js';
import type { DirectorRecords } from './director-records.js';
import type { RedisTls } from './redis-connect.js';

export interface DirectorOptions {
  readonly redisUrl: string;
  /** For a `rediss://` URL: the CA, and this client's certificate and key (PEM text). */
  readonly redisTls?: RedisTls;
  readonly prefix?: string;
  readonly policy?: Policy;
  readonly tickMs?: number;
  readonly maxAttempts?: number;
  /** A node silent this long is dead (its heartbeat key expires at its own TTL; this bounds the director's view). */
  readonly nodeTtlMs?: number;
  /** Log entries stay at least this long after they could be trimmed (recent history to inspect). Default 60 000. */
  readonly logRetentionMs?: number;
  /** How long a second director waits for the first one's lease before it gives up (default 2 × the lease). */
  readonly leaseWaitMs?: number;
  /** A lease not renewed for this long returns to the queue (the holder died). */
  readonly lockDurationMs?: number;
  /** Where the director says what it does (default: nowhere); warnings repeated under one topic are rate-limited. */
  readonly logger?: Logger;
  /** How auction winners are paid: `critical-value` (truthful, default) or `bid`. */
  readonly payment?: PaymentRule;
  /** Admission control by class on the predicted backlog (as `Swarm`'s `admission`); undefined: admit everything. */
  readonly admission?: AdmissionLimits;
  /**
   * Most micro-tasks per BullMQ job when many are ready at once (schedule/lease-batch.ts); 1: one job per micro-task.
   * Default 64.
   */
  readonly batchMax?: number;
  /** A warning repeated under one topic (a bad key read every tick) is said once per this interval. Default 30 000. */
  readonly warningIntervalMs?: number;
  /** Time for the warning limiter (tests pass a virtual one). Default: the wall clock. */
  readonly clock?: Clock;
  /** Where the director's time and timers come from. Default: the epoch clock and Node's timers. */
  readonly environment?: Environment;
  /**
   * Where its morphing actions and auctions are kept for the HTTP API; one object for the process, so a supervisor's
   * next director continues the numbering. Default: its own.
   */
  readonly records?: DirectorRecords;
}

/** What a swarmlet of a type with no hint and no measurement claims on a node, and its expected life (for pricing). */
export const DIRECTOR_POOL = { swarmletCpu: 1, swarmletMemoryMb: 60, slotLifeMs: 60_000 } as const;
