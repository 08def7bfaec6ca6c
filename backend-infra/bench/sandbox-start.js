#!/usr/bin/env node
// Benchmark: the cost of the scanner sandbox's minimal root. Starts `true`
// N times under bwrap with the arguments of src/sandbox.ts for the semgrep
// venv (its toolchain resolved, rules bound) and, for comparison, with the
// former `--ro-bind / /` root; prints the median start time of each and
// the time to build the arguments.
//   node backend-infra/bench/sandbox-start.js [--runs N]
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const { median } = require('./common'); // checks the build
const sandbox = require(
  path.join(__dirname, '..', 'dist', 'backend-infra', 'pipeline', 'src', 'sandbox.js')
);

const args = process.argv.slice(2);
const runs = args.includes('--runs') ? Number(args[args.indexOf('--runs') + 1]) : 30;
const root = path.resolve(__dirname, '..', '..');
const tool = path.join(root, '.tools', 'bin', 'semgrep');
const rules = path.join(root, 'backend-infra', 'pipeline', 'rules');
const options = { tools: [tool], readOnly: [rules] };
const former = [
  '--unshare-all',
  '--die-with-parent',
  '--ro-bind',
  '/',
  '/',
  '--dev',
  '/dev',
  '--proc',
  '/proc',
  '--tmpfs',
  '/tmp',
  '--dir',
  '/tmp/home',
  '--'
];

function starts(bwrapArgs) {
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync('bwrap', [...bwrapArgs, '/usr/bin/true']);
    if (r.status !== 0) throw new Error(`bwrap failed: ${r.stderr}`);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(times);
}

const build = [];
for (let i = 0; i < runs; i++) {
  const t = process.hrtime.bigint();
  sandbox.bwrapArgs(options);
  build.push(Number(process.hrtime.bigint() - t) / 1e6);
}
const minimal = sandbox.bwrapArgs(options);
const result = {
  runs,
  minimalRootStartMs: Number(starts(minimal).toFixed(1)),
  formerRootStartMs: Number(starts(former).toFixed(1)),
  buildArgsMs: Number(median(build).toFixed(2)),
  mounts: minimal.filter(a => /^--(ro-)?bind|^--symlink$/.test(a)).length
};
console.log(JSON.stringify(result));
