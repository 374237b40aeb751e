// The cluster tests start a real redis-server (never a mock). On a fresh Debian machine where it
// is missing and we are root, install the package; otherwise say exactly what to do.
import { execSync } from 'node:child_process';

const has = (command) => {
  try {
    execSync(`command -v ${command}`, { stdio: 'ignore', shell: '/bin/sh' });
    return true;
  } catch {
    return false;
  }
};

if (!has('redis-server')) {
  if (process.getuid?.() === 0 && has('apt-get')) {
    console.error('redis-server is missing: installing the Debian package (apt-get install -y redis-server)…');
    execSync('apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server', {
      stdio: 'inherit',
      shell: '/bin/sh',
    });
  } else {
    console.error(
      'redis-server not found: the cluster tests need it. Install it with: sudo apt-get install -y redis-server',
    );
    process.exit(1);
  }
}
