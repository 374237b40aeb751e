import type { Environment } from '../core/environment.js';
import type { Policy } from '../decide/policy.js';
import type { PoolLimits } from '../decide/snapshot.js';
import type { AdmissionLimits } from '../schedule/admission.js';
import type { Broker } from './brokers/broker.js';
import type { HardLimits } from './hard-limits.js';
import type { JobHistory } from './job-history.js';
import type { TrackerLimits } from './jobs/job-tracker.js';
import type { TaskTypeInfo } from './local/task-compiler.js';
import type { Provider, ProviderEvents } from './provider.js';

export interface OrchestratorOptions {
  readonly taskTypes: ReadonlyMap<string, TaskTypeInfo>;
  readonly broker: Broker;
  readonly policy: Policy;
  readonly limits: PoolLimits;
  readonly trackerLimits: TrackerLimits;
  readonly maxAttempts: number;
  readonly tickMs: number;
  /** Where time and timers come from: the wall clock, or the simulator's virtual one. */
  readonly environment: Environment;
  readonly provider: (events: ProviderEvents) => Provider;
  /** Earlier runs' job profiles, and where finished runs are recorded. */
  readonly history: JobHistory;
  /** Hard limits: a micro-task running longer, or a swarmlet holding more memory, is stopped. */
  readonly hardLimits: HardLimits;
  /** Admission control by priority class on the predicted backlog; undefined: admit everything. */
  readonly admission: AdmissionLimits | undefined;
  /** Cores of this machine: the reservation pool's CPU. */
  readonly cores: number;
  /** A swarmlet that has not loaded its type's module (import and warmup) within this is stopped. */
  readonly loadTimeoutMs: number;
  /** Why the policy will never run a type (a fixed split that gives it 0); undefined: it may. */
  readonly unserved?: (taskType: string) => Error | undefined;
}
