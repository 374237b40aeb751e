import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  encodeManifest,
  keyIdOf,
  manifestOf,
  sha256Hex,
  signManifest,
  verifyBundle,
  type BundleManifest,
} from '../src/runtime/cluster/bundle-signing.js';
import type { ModuleRecord } from '../src/runtime/cluster/protocol.js';

const code = 'export default { name: "echo", run: (x) => x };\n';
const manifest: BundleManifest = {
  taskType: 'echo',
  codeSha256: sha256Hex(code),
  resources: { durationMs: 2, cpu: 0.5 },
  permissions: ['network', 'fs-read'],
  hasJoin: false,
};
const owner = generateKeyPairSync('ed25519');
const stranger = generateKeyPairSync('ed25519');
const trusted = { keys: new Map([[keyIdOf(owner.publicKey), owner.publicKey]]), allowUnsigned: false };

function record(overrides: Partial<ModuleRecord> = {}): ModuleRecord {
  return {
    taskType: 'echo',
    hash: sha256Hex(code).slice(0, 16),
    code,
    hintDurationMs: 2,
    hintCpu: 0.5,
    hasJoin: false,
    permissions: ['network', 'fs-read'],
    ...overrides,
  };
}
const signed = (signer = owner.privateKey, base = record()): ModuleRecord => ({
  ...base,
  signature: signManifest(manifestOf(base), signer),
});

describe('the manifest encoding', () => {
  it('is one fixed byte string: version line, then each field in order as JSON', () => {
    expect(encodeManifest(manifest).toString('utf8')).toBe(
      [
        'swarmlet-bundle-manifest/1',
        'taskType="echo"',
        `codeSha256="${sha256Hex(code)}"`,
        'resources.durationMs=2',
        'resources.cpu=0.5',
        'resources.memoryMb=null',
        'permissions=["fs-read","network"]',
        'hasJoin=false',
        '',
      ].join('\n'),
    );
  });

  it('does not depend on the order of permissions or of the object keys', () => {
    const reordered: BundleManifest = {
      hasJoin: false,
      permissions: ['fs-read', 'network', 'network'],
      resources: { cpu: 0.5, durationMs: 2 },
      codeSha256: manifest.codeSha256,
      taskType: 'echo',
    };
    expect(encodeManifest(reordered).equals(encodeManifest(manifest))).toBe(true);
  });

  it('changes with every field, and a value cannot forge another line', () => {
    const variants: BundleManifest[] = [
      { ...manifest, taskType: 'echo2' },
      { ...manifest, codeSha256: sha256Hex('other') },
      { ...manifest, resources: { ...manifest.resources, durationMs: 3 } },
      { ...manifest, resources: { ...manifest.resources, cpu: undefined } },
      { ...manifest, resources: { ...manifest.resources, memoryMb: 1 } },
      { ...manifest, permissions: ['network'] },
      { ...manifest, hasJoin: true },
    ];
    const encoded = new Set(variants.map((v) => encodeManifest(v).toString('hex')));
    expect(encoded.size).toBe(variants.length);
    expect(encoded.has(encodeManifest(manifest).toString('hex'))).toBe(false);
    const forged = encodeManifest({ ...manifest, taskType: 'echo"\ncodeSha256="x' }).toString('utf8');
    expect(forged.split('\n').filter((line) => line.startsWith('codeSha256='))).toHaveLength(1);
  });
});

describe('verifyBundle', () => {
  it('accepts a bundle signed by a trusted key', () => {
    expect(verifyBundle(signed(), trusted)).toEqual({ ok: true, signedBy: keyIdOf(owner.publicKey) });
  });

  it('refuses an unsigned bundle, unless unsigned bundles are allowed', () => {
    expect(verifyBundle(record(), trusted)).toMatchObject({ ok: false, reason: 'it is unsigned' });
    expect(verifyBundle(record(), { ...trusted, allowUnsigned: true })).toEqual({ ok: true, signedBy: undefined });
  });

  it('refuses a bundle signed by a key it does not trust, naming the key', () => {
    const verdict = verifyBundle(signed(stranger.privateKey), trusted);
    expect(verdict).toMatchObject({ ok: false });
    expect(!verdict.ok && verdict.reason).toContain(`signed by key ${keyIdOf(stranger.publicKey)}`);
  });

  it('refuses code that does not match its hash, even with a real signature over other code', () => {
    const verdict = verifyBundle({ ...signed(), code: `${code}// trojan\n` }, trusted);
    expect(!verdict.ok && verdict.reason).toContain('its code does not match its hash');
  });

  it('refuses code and hash changed together: the signature no longer matches', () => {
    const trojan = `${code}// trojan\n`;
    const tampered = { ...signed(), code: trojan, hash: sha256Hex(trojan).slice(0, 16) };
    const verdict = verifyBundle(tampered, { ...trusted, allowUnsigned: true });
    expect(!verdict.ok && verdict.reason).toContain('does not match its manifest');
  });

  it('refuses changed resources or permissions under a valid signature', () => {
    for (const change of [
      { hintCpu: 8 },
      { permissions: ['network', 'fs-read', 'child-process'] },
      { hasJoin: true },
    ]) {
      const verdict = verifyBundle({ ...signed(), ...change }, trusted);
      expect(!verdict.ok && verdict.reason).toContain('does not match its manifest');
    }
  });
});
