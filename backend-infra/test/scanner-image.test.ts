/**
 * The scanner image carries every tool the stage code calls (defect 2: npm was
 * missing, so every npm package was `error`). The tools are read from the
 * adapters' own sources (`ctx.which('…')`, `bin: '…'`) plus what the stage
 * code runs directly; each must be checked by the Dockerfile's final RUN.
 */
import { execFileSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..');
const scannersDir = path.join(root, 'pipeline', 'src', 'scanners');

/** Executables the adapters look up, from their sources. */
export function adapterTools(): string[] {
  const tools = new Set<string>();
  for (const file of readdirSync(scannersDir).filter(f => f.endsWith('.ts'))) {
    const text = readFileSync(path.join(scannersDir, file), 'utf8');
    for (const m of text.matchAll(/which\('([\w.-]+)'\)|\bbin: '([\w.-]+)'/g))
      tools.add(m[1] ?? m[2]);
  }
  // Run directly by the stage code: git (clone, publish), bwrap (sandbox), python3 and npm (dynamic scan), node (the CLI).
  for (const t of ['git', 'bwrap', 'python3', 'npm', 'node']) tools.add(t);
  return [...tools].sort();
}

describe('scanner image (docker/scanner.Dockerfile)', () => {
  const dockerfile = readFileSync(path.join(root, 'docker', 'scanner.Dockerfile'), 'utf8');
  const check = dockerfile.slice(dockerfile.lastIndexOf('repoguard-pipeline.js /usr/local/bin'));

  test('the adapters call at least the known scanners (the list is read, not empty)', () => {
    expect(adapterTools()).toEqual(expect.arrayContaining(['semgrep', 'bandit', 'npm', 'strace']));
  });

  test.each(adapterTools())('%s is installed and checked by the image build', tool => {
    expect(check).toMatch(
      new RegExp(`(^|[\\s&])${tool.replace(/[.-]/g, '\\$&')} (--version|version|-V|--help)`)
    );
  });

  test('npm is copied with node (not the node binary alone)', () => {
    expect(dockerfile).toContain('COPY --from=node /usr/local/lib/node_modules/npm');
    expect(dockerfile).toMatch(
      /ln -s \.\.\/lib\/node_modules\/npm\/bin\/npm-cli\.js \/usr\/local\/bin\/npm/
    );
  });
});

describe('scanner image assembled without Docker (scripts/assemble-scanner-image.sh)', () => {
  const tools = path.join(root, '..', '.tools');
  let dir: string;
  beforeAll(() => {
    if (!existsSync(path.join(tools, 'bin')))
      throw new Error(
        `${tools}/bin is missing: run scripts/install-scanners.sh (scripts/setup.sh does)`
      );
    dir = mkdtempSync(path.join(tmpdir(), 'rg-image-'));
    execFileSync(
      'bash',
      [path.join(root, 'scripts', 'assemble-scanner-image.sh'), dir, '--tools-from', tools],
      {
        stdio: 'pipe'
      }
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(adapterTools())('%s is in the folder and executable', tool => {
    accessSync(path.join(dir, 'bin', tool), constants.X_OK);
  });

  test('npm runs from the folder alone (node beside it), as the dynamic scan calls it', () => {
    const env = { PATH: path.join(dir, 'bin'), HOME: dir };
    expect(
      execFileSync(path.join(dir, 'bin', 'npm'), ['--version'], { env, encoding: 'utf8' })
    ).toMatch(/^\d+\.\d+\.\d+/);
    expect(
      execFileSync(path.join(dir, 'bin', 'repoguard-pipeline'), ['--help'], {
        env,
        encoding: 'utf8'
      })
    ).toContain('repoguard-pipeline');
  });
});
