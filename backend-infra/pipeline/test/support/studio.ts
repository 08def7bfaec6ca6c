/**
 * The Studio side of the offline AWS harness (pipeline/test/aws-e2e.test.ts):
 * a JupyterLab space's start, then its Jupyter server and a kernel, on loopback.
 *
 * - `runLifecycleScript`: the synthesized lifecycle script (support/aws-stages.ts
 *   `synthesizeApp`) run in bash with HOME=<a new folder>, as a space starts;
 *   its `pip install` fails (a stub: no index), as in a VPC-only domain;
 * - `kernelEnvironment`: a kernel's virtual environment of its own (installs
 *   land in its site-packages) that sees this repo's `.venv` packages
 *   (ipykernel, repoguard, boto3) as a second site dir, as a Studio kernel
 *   shares its image's packages: copying them into a fresh venv offline
 *   (repoguard.bench.venvs) takes about 40 s; the `.venv` is never installed into;
 * - `startStudioServer`: a real `jupyter server` (the repoguard server
 *   extension among its extensions) on 127.0.0.1, HOME as the lifecycle
 *   script left it, plus the test config support/studio_server_config.py
 *   (in a folder of JUPYTER_CONFIG_PATH);
 * - `openKernel`: a kernel started through the server's REST API, cells run
 *   in it one by one over its websocket (support/studio_kernel.py).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './moto';

const run = promisify(execFile);

/** backend-infra/ (source tree), from dist/backend-infra/pipeline/test/support. */
const BACKEND = path.resolve(__dirname, '..', '..', '..', '..', '..');
const ROOT = path.resolve(BACKEND, '..');
const VENV = path.join(ROOT, '.venv');
export const PYTHON = path.join(VENV, 'bin', 'python');
const SUPPORT = path.join(BACKEND, 'pipeline', 'test', 'support');

export interface ILifecycleResult {
  /** The deployment contract the script wrote (`~/.config/repoguard/deployment.json`). */
  contractFile: string;
  /** The server config it wrote (`~/.jupyter/jupyter_repoguard_config.json`). */
  serverConfig: { RepoGuardApp: Record<string, string> };
  /** What the script logged (its failed pip install). */
  stderr: string;
}

/** Run the lifecycle script as a JupyterLab space's start does, in HOME=`home`. */
export async function runLifecycleScript(script: string, home: string): Promise<ILifecycleResult> {
  const bin = path.join(home, '.lifecycle-bin');
  await mkdir(bin, { recursive: true });
  await writeFile(
    path.join(bin, 'pip'),
    '#!/bin/sh\necho "no package index reachable" >&2\nexit 1\n'
  );
  await chmod(path.join(bin, 'pip'), 0o755);
  const file = path.join(home, '.lifecycle-on-start.sh');
  await writeFile(file, script);
  const { stderr } = await run('bash', [file], {
    env: { HOME: home, PATH: `${bin}:/usr/bin:/bin` }
  });
  const contractFile = path.join(home, '.config', 'repoguard', 'deployment.json');
  const serverConfig = JSON.parse(
    await readFile(path.join(home, '.jupyter', 'jupyter_repoguard_config.json'), 'utf8')
  ) as ILifecycleResult['serverConfig'];
  return { contractFile, serverConfig, stderr };
}

/**
 * A kernel environment at `dir` with the kernelspec `name` in HOME's Jupyter data folder;
 * resolves to its python.
 */
export async function kernelEnvironment(dir: string, home: string, name: string): Promise<string> {
  await run(PYTHON, ['-m', 'venv', '--without-pip', dir]);
  const python = path.join(dir, 'bin', 'python');
  const paths = async (py: string) =>
    JSON.parse(
      (
        await run(py, [
          '-c',
          'import json, sysconfig; print(json.dumps(sysconfig.get_paths()["purelib"]))'
        ])
      ).stdout
    ) as string;
  const own = await paths(python);
  const shared = await paths(PYTHON);
  // A .pth line that starts with "import" runs: addsitedir also reads the shared dir's .pth files.
  await writeFile(
    path.join(own, 'repoguard-e2e-shared.pth'),
    `import site; site.addsitedir(${JSON.stringify(shared)})\n`
  );
  const spec = path.join(home, '.local', 'share', 'jupyter', 'kernels', name);
  await mkdir(spec, { recursive: true });
  await writeFile(
    path.join(spec, 'kernel.json'),
    JSON.stringify({
      argv: [python, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      display_name: 'Python 3 (RepoGuard e2e kernel)',
      language: 'python'
    })
  );
  return python;
}

export interface IStudioServer {
  url: string;
  /** The Jupyter server's own token (random; not a GitHub or AWS credential). */
  token: string;
  /** GET a path of the server with its token; the parsed JSON body or the text. */
  get: (route: string) => Promise<{ status: number; body: string; type: string }>;
  /** Everything the server wrote to stdout and stderr. */
  log: () => string;
  stop: () => Promise<void>;
}

/** `jupyter server` on 127.0.0.1 with HOME=`home` and `env`; resolves once it answers. */
export async function startStudioServer(options: {
  home: string;
  env: NodeJS.ProcessEnv;
  codepipelineAnswers: unknown;
}): Promise<IStudioServer> {
  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const answers = path.join(options.home, '.codepipeline-answers.json');
  await writeFile(answers, JSON.stringify(options.codepipelineAnswers));
  const root = path.join(options.home, 'notebooks');
  await mkdir(root, { recursive: true });
  // One more config folder (JUPYTER_CONFIG_PATH): `--config=FILE` would load FILE instead of
  // the config folders, and with them the server config the lifecycle script wrote.
  const extra = path.join(options.home, '.e2e-jupyter-config');
  await mkdir(extra, { recursive: true });
  await copyFile(
    path.join(SUPPORT, 'studio_server_config.py'),
    path.join(extra, 'jupyter_server_config.py')
  );
  let output = '';
  const child: ChildProcess = spawn(
    path.join(VENV, 'bin', 'jupyter'),
    [
      'server',
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.port=${port}`,
      '--ServerApp.port_retries=0',
      '--ServerApp.open_browser=False',
      '--ServerApp.allow_root=True',
      `--ServerApp.root_dir=${root}`
    ],
    {
      cwd: root,
      env: {
        ...options.env,
        HOME: options.home,
        JUPYTER_TOKEN: token,
        JUPYTER_CONFIG_PATH: extra,
        REPOGUARD_E2E_CODEPIPELINE_ANSWERS: answers
      },
      stdio: ['ignore', 'pipe', 'pipe']
    }
  );
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const get = async (route: string) => {
    const reply = await fetch(`${url}${route}`, { headers: { authorization: `token ${token}` } });
    return {
      status: reply.status,
      body: await reply.text(),
      type: reply.headers.get('content-type') ?? ''
    };
  };
  const stop = () =>
    new Promise<void>(resolve => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) break;
    try {
      if ((await get('/api/status')).status === 200)
        return { url, token, get, log: () => output, stop };
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`jupyter server did not start:\n${output}`);
}

export interface ICell {
  status: 'ok' | 'error';
  stdout: string;
  stderr: string;
  text: string;
  bundles: Record<string, unknown[]>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}

export interface IKernel {
  /** Run one cell; resolves to what it showed. */
  run: (code: string) => Promise<ICell>;
  /** Shut the kernel down (through the server). */
  close: () => Promise<void>;
}

/** A new kernel of `kernelName`, started by `server` as JupyterLab does (support/studio_kernel.py). */
export function openKernel(
  server: IStudioServer,
  kernelName: string,
  env: NodeJS.ProcessEnv
): IKernel {
  const child = spawn(PYTHON, [path.join(SUPPORT, 'studio_kernel.py'), server.url, kernelName], {
    env: { ...env, JUPYTER_TOKEN: server.token },
    stdio: ['pipe', 'pipe', 'pipe']
  });
  let buffered = '';
  let err = '';
  const waiting: { resolve: (cell: ICell) => void; reject: (error: Error) => void }[] = [];
  const exited = new Promise<number | null>(resolve => child.on('close', resolve));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString();
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      waiting.shift()?.resolve(JSON.parse(line) as ICell);
    }
  });
  void exited.then(code => {
    for (const w of waiting.splice(0))
      w.reject(new Error(`studio_kernel.py ended (${code}): ${err}`));
  });
  return {
    run: code =>
      new Promise<ICell>((resolve, reject) => {
        if (child.exitCode !== null) return reject(new Error(`studio_kernel.py ended: ${err}`));
        waiting.push({ resolve, reject });
        child.stdin.write(JSON.stringify(code) + '\n');
      }),
    close: async () => {
      child.stdin.end();
      const code = await exited;
      if (code !== 0) throw new Error(`studio_kernel.py failed (${code}): ${err}`);
    }
  };
}
