/**
 * `swarmlet keys new [--out <dir>]`: an Ed25519 key pair for signed task bundles. The private key
 * (mode 0600) stays with whoever submits jobs (`run --redis … --sign-key <it>`); the public key goes
 * to every agent that should run their bundles (`agent --trust <it>`).
 */
import type { Command } from 'commander';
import { writeNewKeyPair } from '../runtime/cluster/signing-keys.js';

/** Registers `keys` on the program (main.ts wires it). */
export function keysCommand(program: Command): Command {
  const keys = program.command('keys').description('signing keys for task bundles (cluster mode)');
  keys
    .command('new')
    .description('create an Ed25519 key pair: a private key to sign bundles, a public key for agents to trust')
    .option('--out <dir>', 'where to write the key files', '.swarmlet/keys')
    .action(async (options: { out: string }) => {
      const { privateKeyPath, publicKeyPath, keyId } = await writeNewKeyPair(options.out);
      process.stdout.write(
        `key ${keyId}\n  private (keep it, mode 0600): ${privateKeyPath}\n    sign:  swarmlet run <job> --redis <url> --sign-key ${privateKeyPath}\n` +
          `  public (give it to agents):   ${publicKeyPath}\n    trust: swarmlet agent --redis <url> --trust ${publicKeyPath}\n`,
      );
    });
  return keys;
}
