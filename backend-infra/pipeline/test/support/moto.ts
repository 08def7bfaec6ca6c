/**
 * moto in server mode (`.venv/bin/moto_server`, from the python test extra
 * `moto[server]`) on a free port of 127.0.0.1: the AWS emulator of the
 * pipeline's tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..', '..', '..', '..');
const MOTO = path.join(ROOT, '.venv', 'bin', 'moto_server');

/** A port of 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** moto_server on loopback; resolves once it answers. */
export async function startMotoServer(): Promise<{ endpoint: string; stop: () => void }> {
  if (!existsSync(MOTO)) {
    throw new Error(`${MOTO} is missing: install the python test extra (moto[server])`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(MOTO, ['-H', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore'
  });
  const endpoint = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) break;
    try {
      await fetch(`${endpoint}/moto-api/`);
      return { endpoint, stop: () => child.kill('SIGTERM') };
    } catch {
      await new Promise(r => setTimeout(r, 100));
    }
  }
  child.kill('SIGKILL');
  throw new Error('moto_server did not start');
}
