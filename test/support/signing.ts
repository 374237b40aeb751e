/**
 * One Ed25519 key pair per test process, in a temporary directory: agents in tests trust it and
 * clients sign with it, so every cluster test runs signed bundles, as the README's quick start does.
 */
import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifestOf, signManifest } from '../../src/runtime/cluster/bundle-signing.js';
import { moduleRecordSchema, type ModuleRecord } from '../../src/runtime/cluster/protocol.js';

const directory = mkdtempSync(join(tmpdir(), 'swarmlet-test-keys-'));
const pair = generateKeyPairSync('ed25519');
export const TEST_PRIVATE_KEY_PATH = join(directory, 'test-signing.key');
export const TEST_PUBLIC_KEY_PATH = join(directory, 'test-signing.pub');
writeFileSync(TEST_PRIVATE_KEY_PATH, pair.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
writeFileSync(TEST_PUBLIC_KEY_PATH, pair.publicKey.export({ type: 'spki', format: 'pem' }));

export const TEST_SIGN_KEY = createPrivateKey(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }));
/** Agent options that trust the test key. */
export const TRUSTED = { trust: [TEST_PUBLIC_KEY_PATH] } as const;
/** `agent` flags that trust the test key. */
export const TRUST_ARGS = ['--trust', TEST_PUBLIC_KEY_PATH] as const;
/** `run --redis` flags that sign with the test key. */
export const SIGN_ARGS = ['--sign-key', TEST_PRIVATE_KEY_PATH] as const;

/** The record with the test key's signature of its manifest (as agents read it: defaults filled). */
export function signedRecord<T extends { taskType: string; hash: string; code: string }>(
  record: T,
  signKey = TEST_SIGN_KEY,
): T & { signature: NonNullable<ModuleRecord['signature']> } {
  return { ...record, signature: signManifest(manifestOf(moduleRecordSchema.parse(record)), signKey) };
}
