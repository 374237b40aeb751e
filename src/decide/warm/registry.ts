import { InputError } from '../../core/errors.js';
import { hpaPolicy } from './hpa.js';
import { hybridHistogramPolicy } from './hybrid-histogram.js';
import { keepAlivePolicy } from './keepalive.js';
import { kpaPolicy } from './kpa.js';
import { neverUnloadPolicy } from './never-unload.js';
import { openWhiskPolicy } from './openwhisk.js';
import { oraclePolicy } from './oracle.js';
import type { WarmPolicy } from './warm-policy.js';

/** Baselines with a fixed name; `keepalive-<minutes>m` is parsed on top of these. */
const BY_NAME: Readonly<Record<string, () => WarmPolicy>> = {
  'never-unload': neverUnloadPolicy,
  'hybrid-histogram': () => hybridHistogramPolicy(),
  hpa: () => hpaPolicy(),
  kpa: () => kpaPolicy(),
  openwhisk: openWhiskPolicy,
  oracle: oraclePolicy,
};

/** The names `warmPolicyByName` accepts, as shown to users. */
export const WARM_POLICY_NAMES: readonly string[] = [
  'keepalive-<minutes>m (e.g. keepalive-10m, keepalive-20m)',
  ...Object.keys(BY_NAME),
];

const KEEP_ALIVE = /^keepalive-(\d+(?:\.\d+)?)m$/;

/** A fresh baseline policy by its name (each call returns a new policy object). */
export function warmPolicyByName(name: string): WarmPolicy {
  const keepAlive = KEEP_ALIVE.exec(name);
  if (keepAlive) return keepAlivePolicy(Number(keepAlive[1]));
  const make = Object.hasOwn(BY_NAME, name) ? BY_NAME[name] : undefined;
  if (make === undefined) {
    throw new InputError('policy', `unknown warm policy "${name}"`, `use one of: ${WARM_POLICY_NAMES.join(', ')}`);
  }
  return make();
}
