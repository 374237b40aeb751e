import { describe, expect, it } from 'vitest';
import { InputError } from '../src/core/errors.js';
import { consentAllowsWork, consentLimits, localHour, openHoursRemainingMs } from '../src/place/consent.js';
import { parseNodeAdvertisement, type NodeAdvertisement } from '../src/place/node-probe.js';

const base = { nodeId: 'node-1', kind: 'server', capacity: { cpu: 4, memoryMb: 8192 }, pricePerCoreSecond: 0.00002 };

function parsed(raw: unknown): NodeAdvertisement {
  const result = parseNodeAdvertisement(raw);
  if (!result.ok) throw result.error;
  return result.value;
}

const HOUR_MS = 3_600_000;
/** 2025-01-15 at `hour`:00 UTC (tests may read the calendar; place/ may not). */
const atUtcHour = (hour: number, minute = 0) => Date.UTC(2025, 0, 15, hour, minute);

describe('node advertisement: parse', () => {
  it('fills defaults; servers and edge nodes consent by default, personal machines do not', () => {
    const server = parsed(base);
    expect(server.consent).toEqual({ granted: true, maxCpuShare: 1, idleOnly: false });
    expect(server).toMatchObject({
      inUse: { cpu: 0, memoryMb: 0 },
      labels: {},
      idle: false,
      utcOffsetMinutes: 0,
      warmTaskTypes: [],
    });
    expect(parsed({ ...base, kind: 'edge' }).consent.granted).toBe(true);
    expect(parsed({ ...base, kind: 'personal' }).consent.granted).toBe(false);
    expect(
      parsed({
        ...base,
        kind: 'personal',
        consent: { granted: true, maxCpuShare: 0.5, hours: [{ from: 22, to: 7 }], idleOnly: true },
      }).consent,
    ).toEqual({
      granted: true,
      maxCpuShare: 0.5,
      hours: [{ from: 22, to: 7 }],
      idleOnly: true,
    });
  });

  const bad: { name: string; raw: unknown; field: string; problem: RegExp; fix: RegExp }[] = [
    {
      name: 'missing node id',
      raw: { ...base, nodeId: undefined },
      field: 'node.nodeId',
      problem: /is missing/,
      fix: /stable id/,
    },
    {
      name: 'id with spaces',
      raw: { ...base, nodeId: 'my laptop' },
      field: 'node.nodeId',
      problem: /characters outside/,
      fix: /host name/,
    },
    {
      name: 'unknown kind',
      raw: { ...base, kind: 'laptop' },
      field: 'node.kind',
      problem: /got "laptop"/,
      fix: /'server', 'edge' or 'personal'/,
    },
    {
      name: 'negative cores',
      raw: { ...base, capacity: { cpu: -4, memoryMb: 1 } },
      field: 'node.capacity.cpu',
      problem: /got -4/,
      fix: /above 0/,
    },
    {
      name: 'NaN price',
      raw: { ...base, pricePerCoreSecond: Number.NaN },
      field: 'node.pricePerCoreSecond',
      problem: /NaN/,
      fix: /price per core-second of 0 or more/,
    },
    {
      name: 'share above 1',
      raw: { ...base, consent: { granted: true, maxCpuShare: 1.5 } },
      field: 'node.consent.maxCpuShare',
      problem: /got 1.5/,
      fix: /between 0 and 1/,
    },
    {
      name: 'consent without the flag',
      raw: { ...base, consent: { maxCpuShare: 0.5 } },
      field: 'node.consent.granted',
      problem: /is missing/,
      fix: /granted: true once the owner agreed/,
    },
    {
      name: 'empty hour window',
      raw: { ...base, consent: { granted: true, hours: [{ from: 22, to: 22 }] } },
      field: 'node.consent.hours[0].to',
      problem: /empty/,
      fix: /leave hours out/,
    },
    {
      name: 'hour 25',
      raw: { ...base, consent: { granted: true, hours: [{ from: 1, to: 25 }] } },
      field: 'node.consent.hours[0].to',
      problem: /got 25/,
      fix: /0–24/,
    },
    {
      name: 'unknown field',
      raw: { ...base, gpu: 1 },
      field: 'node.gpu',
      problem: /not a known field/,
      fix: /remove it/,
    },
    {
      name: 'too many labels',
      raw: { ...base, labels: Object.fromEntries(Array.from({ length: 65 }, (_, index) => [`k${index}`, 'v'])) },
      field: 'node.labels',
      problem: /more than 64/,
      fix: /at most 64/,
    },
    {
      name: 'label value not a string',
      raw: { ...base, labels: { zone: 3 } },
      field: 'node.labels.zone',
      problem: /expected string/,
      fix: /string values/,
    },
    {
      name: 'time zone beyond UTC+14',
      raw: { ...base, utcOffsetMinutes: 900 },
      field: 'node.utcOffsetMinutes',
      problem: /got 900/,
      fix: /minutes from UTC/,
    },
    { name: 'not an object', raw: 'hello', field: 'node', problem: /expected object/, fix: /advertisement fields/ },
  ];
  it.each(bad)('rejects $name naming the field, the value and the fix', ({ raw, field, problem, fix }) => {
    const result = parseNodeAdvertisement(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(InputError);
    expect(result.error.field).toBe(field);
    expect(result.error.message).toMatch(problem);
    expect(result.error.fix).toMatch(fix);
  });
});

describe('consent rules', () => {
  const personal = (consent: object, extra: object = {}) =>
    parsed({ ...base, kind: 'personal', capacity: { cpu: 8, memoryMb: 16_384 }, consent, ...extra });

  it('caps: the CPU share and memory cap cut capacity', () => {
    expect(consentLimits(personal({ granted: true, maxCpuShare: 0.5, maxMemoryMb: 4096 }))).toEqual({
      cpu: 4,
      memoryMb: 4096,
    });
    expect(consentLimits(personal({ granted: true, maxMemoryMb: 99_999 }))).toEqual({ cpu: 8, memoryMb: 16_384 });
  });

  it('local hour follows the owner time zone, across midnight and negative offsets', () => {
    expect(localHour(atUtcHour(22), 60)).toBe(23);
    expect(localHour(atUtcHour(23, 30), 60)).toBe(0);
    expect(localHour(atUtcHour(2), -300)).toBe(21);
  });

  const windows: {
    name: string;
    hours: { from: number; to: number }[] | undefined;
    nowMs: number;
    remainingMs: number;
  }[] = [
    { name: 'no window: always open', hours: undefined, nowMs: atUtcHour(12), remainingMs: Infinity },
    {
      name: 'inside a wrapping window',
      hours: [{ from: 22, to: 7 }],
      nowMs: atUtcHour(23, 30),
      remainingMs: 7.5 * HOUR_MS,
    },
    { name: 'outside a wrapping window', hours: [{ from: 22, to: 7 }], nowMs: atUtcHour(12), remainingMs: 0 },
    { name: 'last minute of a window', hours: [{ from: 9, to: 17 }], nowMs: atUtcHour(16, 59), remainingMs: 60_000 },
    {
      name: 'adjacent windows join',
      hours: [
        { from: 20, to: 24 },
        { from: 0, to: 2 },
      ],
      nowMs: atUtcHour(21),
      remainingMs: 5 * HOUR_MS,
    },
    {
      name: 'windows covering the day',
      hours: [
        { from: 0, to: 12 },
        { from: 12, to: 24 },
      ],
      nowMs: atUtcHour(5),
      remainingMs: Infinity,
    },
    { name: 'one window 0–24', hours: [{ from: 0, to: 24 }], nowMs: atUtcHour(5), remainingMs: Infinity },
  ];
  it.each(windows)('hours window: $name', ({ hours, nowMs, remainingMs }) => {
    expect(openHoursRemainingMs(hours, nowMs, 0)).toBe(remainingMs);
  });

  const verdicts: {
    name: string;
    advertisement: NodeAdvertisement;
    nowMs: number;
    durationMs: number;
    reason: RegExp | undefined;
  }[] = [
    {
      name: 'granted, any hour',
      advertisement: personal({ granted: true }),
      nowMs: atUtcHour(12),
      durationMs: HOUR_MS,
      reason: undefined,
    },
    {
      name: 'no consent flag',
      advertisement: parsed({ ...base, kind: 'personal' }),
      nowMs: atUtcHour(12),
      durationMs: 1,
      reason: /no consent/,
    },
    {
      name: 'revoked',
      advertisement: personal({ granted: false }),
      nowMs: atUtcHour(12),
      durationMs: 1,
      reason: /no consent/,
    },
    {
      name: 'idle-only, owner active',
      advertisement: personal({ granted: true, idleOnly: true }, { idle: false }),
      nowMs: atUtcHour(12),
      durationMs: 1,
      reason: /idle-only/,
    },
    {
      name: 'idle-only, owner away',
      advertisement: personal({ granted: true, idleOnly: true }, { idle: true }),
      nowMs: atUtcHour(12),
      durationMs: 1,
      reason: undefined,
    },
    {
      name: 'outside hours',
      advertisement: personal({ granted: true, hours: [{ from: 22, to: 7 }] }),
      nowMs: atUtcHour(12),
      durationMs: 1,
      reason: /outside consent hours 22–7 \(local hour 12\)/,
    },
    {
      name: 'hours close before the work ends',
      advertisement: personal({ granted: true, hours: [{ from: 22, to: 7 }] }),
      nowMs: atUtcHour(6, 30),
      durationMs: HOUR_MS,
      reason: /consent hours 22–7 close in 30 min, before the expected 60 min of work ends/,
    },
  ];
  it.each(verdicts)('work allowed? $name', ({ advertisement, nowMs, durationMs, reason }) => {
    const verdict = consentAllowsWork(advertisement, nowMs, durationMs);
    if (reason === undefined) expect(verdict).toEqual({ ok: true });
    else expect(verdict.ok ? undefined : verdict.reason).toMatch(reason);
  });
});
