/**
 * Ed25519 key files for signed bundles: `swarmlet keys new` writes them, `run --sign-key` and
 * `agent --trust` read them. PEM (PKCS#8 private, SPKI public) so `openssl` reads them too. Read at
 * the edge: a bad file is an InputError naming the flag (or option), the path and the fix.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../../core/errors.js';
import { keyIdOf, type BundleTrust } from './bundle-signing.js';

export const PRIVATE_KEY_FILE = 'swarmlet-signing.key';
export const PUBLIC_KEY_FILE = 'swarmlet-signing.pub';
const MAKE_ONE = 'make a pair with `swarmlet keys new --out <dir>`';

/** A new key pair in `directory`: the private key readable by its owner only (0600). Never overwrites a key. */
export async function writeNewKeyPair(
  directory: string,
): Promise<{ privateKeyPath: string; publicKeyPath: string; keyId: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privateKeyPath = resolve(join(directory, PRIVATE_KEY_FILE));
  const publicKeyPath = resolve(join(directory, PUBLIC_KEY_FILE));
  await mkdir(directory, { recursive: true });
  try {
    // 'wx': an existing key is never replaced (jobs signed with it, agents trusting it).
    await writeFile(privateKeyPath, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    throw new InputError('--out', `"${directory}" already holds ${PRIVATE_KEY_FILE}`, 'give another directory');
  }
  await writeFile(publicKeyPath, publicKey.export({ type: 'spki', format: 'pem' }), { mode: 0o644 });
  return { privateKeyPath, publicKeyPath, keyId: keyIdOf(publicKey) };
}

function readKeyFile(field: string, path: string, kind: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new InputError(
      field,
      `"${path}" cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      `give the path of an Ed25519 ${kind} key file; ${MAKE_ONE}`,
    );
  }
}

function ed25519(field: string, path: string, kind: string, parse: () => KeyObject): KeyObject {
  let key: KeyObject;
  try {
    key = parse();
  } catch {
    throw new InputError(field, `"${path}" is not a PEM ${kind} key`, `give the ${kind} key file; ${MAKE_ONE}`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new InputError(field, `"${path}" is a ${key.asymmetricKeyType} key, not Ed25519`, MAKE_ONE);
  return key;
}

/** The client's signing key (`--sign-key`). */
export function readSigningKey(path: string, field = 'signKey'): KeyObject {
  const text = readKeyFile(field, path, 'private');
  return ed25519(field, path, 'private', () => createPrivateKey(text));
}

/** An agent's trusted public key (`--trust`); a private key file is refused (it must not be copied to agents). */
export function readTrustedKey(path: string, field = 'trust'): KeyObject {
  const text = readKeyFile(field, path, 'public');
  if (text.includes('PRIVATE KEY'))
    throw new InputError(
      field,
      `"${path}" is a private key`,
      `give its public key file (${PUBLIC_KEY_FILE} beside it): the private key stays with the client`,
    );
  return ed25519(field, path, 'public', () => createPublicKey(text));
}

/** What an agent runs: bundles signed by these keys; unsigned ones too only when the owner allows it. */
export function resolveTrust(paths: readonly string[], allowUnsigned: boolean, field = 'trust'): BundleTrust {
  if (paths.length === 0 && !allowUnsigned)
    throw new InputError(
      field,
      'gives no public key: an agent runs only bundles signed by a key it trusts',
      `add --trust <public key file> (${MAKE_ONE}; clients sign with run --sign-key), or --allow-unsigned to run any bundle anyone who can write to this Redis stores`,
    );
  const keys = new Map<string, KeyObject>();
  for (const path of paths) {
    const key = readTrustedKey(path, field);
    keys.set(keyIdOf(key), key);
  }
  return { keys, allowUnsigned };
}
