/**
 * Signed task bundles (DESIGN.md, Trust): the client signs a manifest of each bundle it publishes
 * with Ed25519 (node:crypto, no dependency); an agent runs a bundle only when a key it trusts signed
 * that manifest and the code matches the manifest's hash.
 *
 * The manifest covers what decides what runs and where: the task type's name, the SHA-256 of its
 * code, the resources it declares (duration, CPU and memory hints) and the permissions it asks for
 * (sorted; none until the sandbox reads them from the task definition), plus whether it joins.
 * Its bytes are defined here once (`encodeManifest`), so signer and verifier can never disagree on
 * a field order or a number's spelling: UTF-8 lines `name=value` in a fixed order, each value in
 * JSON (strings escaped, so no value can forge another line; numbers in JavaScript's shortest
 * round-trip form; an absent hint is `null`), after a version line.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import type { ModuleRecord } from './protocol.js';

export const MANIFEST_VERSION = 'swarmlet-bundle-manifest/1';

export interface BundleManifest {
  readonly taskType: string;
  /** SHA-256 of the bundle's code, 64 hex digits. */
  readonly codeSha256: string;
  readonly resources: {
    readonly durationMs?: number | undefined;
    readonly cpu?: number | undefined;
    readonly memoryMb?: number | undefined;
  };
  readonly permissions: readonly string[];
  readonly hasJoin: boolean;
}

/** The record's signature: which key (`keyIdOf`) and the Ed25519 signature of the manifest's bytes, in base64. */
export interface BundleSignature {
  readonly keyId: string;
  readonly value: string;
}

/** The keys an agent trusts (by key id) and whether it runs unsigned bundles too (`--allow-unsigned`). */
export interface BundleTrust {
  readonly keys: ReadonlyMap<string, KeyObject>;
  readonly allowUnsigned: boolean;
}

export type BundleVerdict =
  | { readonly ok: true; readonly signedBy: string | undefined }
  | { readonly ok: false; readonly reason: string; readonly fix: string };

/** The canonical bytes that are signed. */
export function encodeManifest(manifest: BundleManifest): Buffer {
  const value = (x: unknown): string => JSON.stringify(x ?? null);
  const lines = [
    MANIFEST_VERSION,
    `taskType=${value(manifest.taskType)}`,
    `codeSha256=${value(manifest.codeSha256)}`,
    `resources.durationMs=${value(manifest.resources.durationMs)}`,
    `resources.cpu=${value(manifest.resources.cpu)}`,
    `resources.memoryMb=${value(manifest.resources.memoryMb)}`,
    `permissions=${value([...new Set(manifest.permissions)].sort())}`,
    `hasJoin=${value(manifest.hasJoin)}`,
  ];
  return Buffer.from(`${lines.join('\n')}\n`, 'utf8');
}

export function sha256Hex(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The manifest a module record claims, with the hash of the code it really holds. */
export function manifestOf(record: ModuleRecord, codeSha256 = sha256Hex(record.code)): BundleManifest {
  return {
    taskType: record.taskType,
    codeSha256,
    resources: { durationMs: record.hintDurationMs, cpu: record.hintCpu, memoryMb: record.hintMemoryMb },
    permissions: record.permissions,
    hasJoin: record.hasJoin,
  };
}

/** A public key's short id: the first 16 hex digits of the SHA-256 of its DER (SPKI) form. */
export function keyIdOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return sha256Hex(publicKey.export({ type: 'spki', format: 'der' })).slice(0, 16);
}

export function signManifest(manifest: BundleManifest, privateKey: KeyObject): BundleSignature {
  return { keyId: keyIdOf(privateKey), value: sign(null, encodeManifest(manifest), privateKey).toString('base64') };
}

const SIGN_FIX = 'sign it: swarmlet run --redis <url> --sign-key <private key file> (swarmlet keys new makes one)';

/**
 * Whether an agent may run this record: its code matches its hash, and (unless unsigned bundles are
 * allowed) a trusted key signed its manifest. A signature by a trusted key that does not verify is
 * refused even when unsigned bundles are allowed: it proves the record was changed after signing.
 */
export function verifyBundle(record: ModuleRecord, trust: BundleTrust): BundleVerdict {
  const codeSha256 = sha256Hex(record.code);
  if (codeSha256.slice(0, 16) !== record.hash)
    return {
      ok: false,
      reason: `its code does not match its hash (the record says ${record.hash.slice(0, 40)}, the code hashes to ${codeSha256.slice(0, 16)})`,
      fix: 'the record was changed after the client stored it: submit the job again and find what else writes the key',
    };
  const { signature } = record;
  const key = signature === undefined ? undefined : trust.keys.get(signature.keyId);
  if (key === undefined) {
    if (trust.allowUnsigned) return { ok: true, signedBy: undefined };
    if (signature === undefined) return { ok: false, reason: 'it is unsigned', fix: SIGN_FIX };
    return {
      ok: false,
      reason: `it is signed by key ${signature.keyId}, which this agent does not trust (trusted: ${[...trust.keys.keys()].join(', ') || 'none'})`,
      fix: 'sign with a key the agent trusts, or start the agent with --trust <that key public file>',
    };
  }
  const valid = verify(
    null,
    encodeManifest(manifestOf(record, codeSha256)),
    key,
    Buffer.from(signature!.value, 'base64'),
  );
  if (!valid)
    return {
      ok: false,
      reason: `its signature by key ${signature!.keyId} does not match its manifest (code, resources or permissions changed after signing)`,
      fix: 'submit the job again (run --redis stores and signs its bundles again) and find what else writes the key',
    };
  return { ok: true, signedBy: signature!.keyId };
}
