import type { WarmPlan } from '../decide/warm/warm-policy.js';

/**
 * Invariant checkers for replays, kept apart from the replay itself (like a VOPR's checkers).
 * A violation is a bug in Swarmlet or in a policy: it throws with everything needed to replay it.
 */
export interface InvariantContext {
  readonly appId: string;
  readonly policy: string;
  readonly seed: number;
}

export class InvariantViolation extends Error {
  constructor(context: InvariantContext, event: number, message: string) {
    super(
      `invariant violated (policy ${context.policy}, app ${context.appId}, event ${event}, seed ${context.seed}): ${message}. Reproduce with --seeds ${context.seed} --policy ${context.policy}`,
    );
    this.name = 'InvariantViolation';
  }
}

/** Arrivals are replayed in time order and idle memory never goes negative. */
export function checkArrival(
  context: InvariantContext,
  event: number,
  arrivalMs: number,
  previousMs: number,
  idleMsSoFar: number,
): void {
  if (!(arrivalMs >= previousMs))
    throw new InvariantViolation(context, event, `arrival ${arrivalMs} ms before the previous one at ${previousMs} ms`);
  if (!(idleMsSoFar >= 0))
    throw new InvariantViolation(context, event, `idle loaded time ${idleMsSoFar} ms is negative`);
}

/** A plan never holds negative or non-finite windows (a pool below zero). */
export function checkPlan(context: InvariantContext, event: number, plan: WarmPlan): void {
  const windows = [plan.keepAliveMs, plan.prewarmAfterMs ?? 0, plan.prewarmKeepMs ?? 0];
  if (windows.some((ms) => !(ms >= 0) || Number.isNaN(ms))) {
    throw new InvariantViolation(context, event, `plan has a negative or NaN window: ${JSON.stringify(plan)}`);
  }
}

/** Every invocation is accounted once: the outcomes add up to the trace. */
export function checkAccounting(
  policy: string,
  seed: number,
  expectedCalls: number,
  outcomes: readonly { calls: number; coldStarts: number }[],
): void {
  const calls = outcomes.reduce((sum, o) => sum + o.calls, 0);
  const context = { appId: '(all)', policy, seed };
  if (calls !== expectedCalls)
    throw new InvariantViolation(context, -1, `${calls} invocations accounted, the trace has ${expectedCalls}`);
  const bad = outcomes.find((o) => o.coldStarts > o.calls || o.coldStarts < (o.calls > 0 ? 1 : 0));
  if (bad)
    throw new InvariantViolation(
      context,
      -1,
      `an app has ${bad.coldStarts} cold starts for ${bad.calls} calls (the first call is always cold)`,
    );
}
