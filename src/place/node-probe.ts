import { SANDBOX_KINDS } from '../core/sandbox-kinds.js';
import { z } from 'zod';
import { InputError } from '../core/errors.js';

/**
 * A node advertisement: what an agent's probe publishes about its machine (DESIGN.md "Node").
 * Validated once here, at the edge; everything in place/ after this trusts the typed value.
 *
 * What is *not* in it, on purpose: reliability and latency. A node could lie about them, so the
 * director measures them itself (node-health.ts). Price, capacity and warm modules are claims; the
 * auction makes lying about the price pointless and measured reliability punishes the other claims.
 */

export const NODE_KINDS = ['server', 'edge', 'personal'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/** Limits on what one advertisement may carry (a limit on everything). */
export const PROBE_LIMITS = {
  maxLabels: 64,
  maxWarmTaskTypes: 256,
  maxHourWindows: 24,
  maxCpu: 1024,
  maxMemoryMb: 64 * 1024 * 1024,
} as const;

/** Local hours [from, to) in the owner's time zone; from > to wraps midnight ({ from: 22, to: 7 }). */
const hourWindow = z
  .object({ from: z.number().int().min(0).max(23), to: z.number().int().min(0).max(24) })
  .strict()
  .refine((window) => window.from !== window.to, { message: 'from equals to: the window is empty', path: ['to'] });

const consentSchema = z
  .object({
    /** Explicit: a personal machine gets no work until its owner said yes. */
    granted: z.boolean(),
    /** Share of the machine's cores Swarmlet may use in all, 0..1. */
    maxCpuShare: z.number().min(0).max(1).default(1),
    maxMemoryMb: z.number().positive().max(PROBE_LIMITS.maxMemoryMb).optional(),
    /** Absent: any hour. */
    hours: z.array(hourWindow).min(1).max(PROBE_LIMITS.maxHourWindows).optional(),
    /** Work only while the owner is away (the agent reports `idle`). */
    idleOnly: z.boolean().default(false),
  })
  .strict();

const resources = (positive: boolean) =>
  z
    .object({
      cpu: (positive ? z.number().positive() : z.number().min(0)).max(PROBE_LIMITS.maxCpu),
      memoryMb: (positive ? z.number().positive() : z.number().min(0)).max(PROBE_LIMITS.maxMemoryMb),
    })
    .strict();

const advertisementShape = z
  .object({
    nodeId: z
      .string()
      .min(1)
      .max(200)
      .regex(/^[A-Za-z0-9._:-]+$/, 'has characters outside letters, digits and . _ : -'),
    kind: z.enum(NODE_KINDS),
    /** What Swarmlet may use on this machine at most, before consent caps. */
    capacity: resources(true),
    /** Held right now by swarmlets already on this node. */
    inUse: resources(false).default({ cpu: 0, memoryMb: 0 }),
    pricePerCoreSecond: z.number().min(0).max(1_000),
    labels: z
      .record(z.string().min(1).max(100), z.string().max(200))
      .default({})
      .refine((labels) => Object.keys(labels).length <= PROBE_LIMITS.maxLabels, {
        message: `has more than ${PROBE_LIMITS.maxLabels} labels`,
      }),
    /**
     * Optional for servers and edge nodes (they consent by being operated); personal machines without it get no work.
     */
    consent: consentSchema.optional(),
    /** The owner is away (no input for a while); only matters with consent.idleOnly. */
    idle: z.boolean().default(false),
    /** The owner's time zone, so consent hours are local hours. */
    utcOffsetMinutes: z
      .number()
      .int()
      .min(-14 * 60)
      .max(14 * 60)
      .default(0),
    /** What holds task code in on this node (core/sandbox-kinds.ts). */
    sandbox: z.enum(SANDBOX_KINDS).default('none'),
    /** Task types whose modules are loaded in a swarmlet on this node right now. */
    warmTaskTypes: z.array(z.string().min(1).max(200)).max(PROBE_LIMITS.maxWarmTaskTypes).default([]),
  })
  .strict();

export const nodeAdvertisementSchema = advertisementShape.transform((advertisement) => ({
  ...advertisement,
  consent: advertisement.consent ?? defaultConsent(advertisement.kind),
}));

export type NodeAdvertisementInput = z.input<typeof nodeAdvertisementSchema>;
export type NodeAdvertisement = z.output<typeof nodeAdvertisementSchema>;
export type Consent = NodeAdvertisement['consent'];
export type HourWindow = z.output<typeof hourWindow>;

/**
 * No consent flag: operated machines may work, a personal machine may not ("no work without an explicit consent flag").
 */
function defaultConsent(kind: NodeKind): z.output<typeof consentSchema> {
  return { granted: kind !== 'personal', maxCpuShare: 1, idleOnly: false };
}

export type ParseResult =
  { readonly ok: true; readonly value: NodeAdvertisement } | { readonly ok: false; readonly error: InputError };

/** Validates one advertisement; a failure names the field, the problem and the fix. */
export function parseNodeAdvertisement(raw: unknown): ParseResult {
  const result = nodeAdvertisementSchema.safeParse(raw, {
    error: (issue) => (issue.code === 'invalid_type' && issue.input === undefined ? 'is missing' : undefined),
  });
  if (result.success) return { ok: true, value: result.data };
  const issue = result.error.issues[0];
  if (issue === undefined)
    return { ok: false, error: new InputError('node', 'is not a valid advertisement', DEFAULT_FIX) };
  const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0] ?? ''] : [...issue.path];
  const problem =
    issue.code === 'unrecognized_keys'
      ? `is not a known field (unknown: ${issue.keys.join(', ')})`
      : `${issue.message}${issue.code === 'invalid_key' ? '' : gotValue(raw, path)}`;
  const field = path.reduce<string>(
    (name, key) => (typeof key === 'number' ? `${name}[${key}]` : `${name}.${String(key)}`),
    'node',
  );
  const fix =
    issue.code === 'unrecognized_keys'
      ? 'remove it, or check its spelling against the advertisement fields in src/place/node-probe.ts'
      : fixFor(path);
  return { ok: false, error: new InputError(field, problem, fix) };
}

const DEFAULT_FIX = 'see the advertisement fields in src/place/node-probe.ts';

/** Fixes by field, array indices dropped ("consent.hours.from"). */
const FIXES: Readonly<Record<string, string>> = {
  nodeId: 'use a stable id of letters, digits, ".", "_", ":" or "-" (the host name works), at most 200 characters',
  kind: "use 'server', 'edge' or 'personal'",
  capacity: 'send capacity: { cpu, memoryMb }',
  'capacity.cpu': `advertise the cores Swarmlet may use, a number above 0 and at most ${PROBE_LIMITS.maxCpu}, e.g. 4`,
  'capacity.memoryMb': 'advertise the memory Swarmlet may use in MB, a number above 0, e.g. 8192',
  'inUse.cpu': 'send the cores held by swarmlets on this node now, 0 or more',
  'inUse.memoryMb': 'send the memory held by swarmlets on this node now in MB, 0 or more',
  pricePerCoreSecond: 'send a price per core-second of 0 or more (at most 1000), e.g. 0.00002',
  labels: `send labels as short string keys to string values, e.g. { "region": "eu" }, at most ${PROBE_LIMITS.maxLabels}`,
  consent: 'send consent: { granted } (personal machines get work only with granted: true)',
  'consent.granted': 'set granted: true once the owner agreed, false otherwise',
  'consent.maxCpuShare': 'use a share of the machine between 0 and 1, e.g. 0.5 for half its cores',
  'consent.maxMemoryMb': 'use a memory cap in MB above 0, or leave it out for no cap beyond capacity',
  'consent.hours': `list 1 to ${PROBE_LIMITS.maxHourWindows} windows of local hours, e.g. [{ "from": 22, "to": 7 }], or leave hours out for any hour`,
  'consent.hours.from': 'use a whole local hour 0–23; a window may wrap midnight, e.g. { "from": 22, "to": 7 }',
  'consent.hours.to': 'use a whole local hour 0–24 different from "from"; leave hours out to allow every hour',
  'consent.idleOnly': 'set idleOnly: true to work only while the owner is away, false otherwise',
  idle: 'send idle: true while the owner is away (no input), false otherwise',
  utcOffsetMinutes: 'send the owner time zone as whole minutes from UTC, -840 to 840 (e.g. 60 for UTC+1)',
  sandbox: `send the sandbox swarmlets run in: ${SANDBOX_KINDS.join(', ')}`,
  warmTaskTypes: `list the task types loaded on this node (at most ${PROBE_LIMITS.maxWarmTaskTypes} names)`,
};

/** The bad value, short, so the message shows what was sent (" (got -4)"); nothing when it is missing. */
function gotValue(raw: unknown, path: readonly PropertyKey[]): string {
  let value: unknown = raw;
  for (const key of path)
    value = typeof value === 'object' && value !== null ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  if (value === undefined) return '';
  const text =
    typeof value === 'number' && !Number.isFinite(value) ? String(value) : (JSON.stringify(value) ?? String(value));
  return ` (got ${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}

function fixFor(path: readonly PropertyKey[]): string {
  const named = path.filter((key) => typeof key === 'string') as string[];
  for (let length = named.length; length > 0; length--) {
    const fix = FIXES[named.slice(0, length).join('.')];
    if (fix !== undefined) return fix;
  }
  return DEFAULT_FIX;
}
