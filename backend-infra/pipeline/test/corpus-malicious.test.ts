/**
 * The malicious corpus (corpus/malicious.js: install-time and import-time
 * exfiltration, obfuscated exec, a platform-gated installer, lifecycle-script
 * downloaders, typosquat names, committed keys, vulnerable pins), written at
 * test time, through the real scan and decide stages with every known
 * scanner: 100% refused. The payloads sit where real packages keep them: in
 * functions called at import or install, in modules the package loads,
 * behind platform checks. A policy change that stops refusing one is a
 * regression, never a fixture to edit.
 *
 * The vulnerable-sink corpus (CWE-mapped sinks inside library functions that
 * only a caller runs), through the SAST scanners (semgrep, bandit) and the
 * decide stage: 100% refused at the SAST gate.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { IManifestItem } from '../src/types';
import { tempDir } from './helpers';

interface IHarness {
  scannerEnvironment(): void;
  knownScannerNames(): string[];
  pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]>;
  scanAndDecide(
    dir: string,
    options: { name: string; scanners?: string[] }
  ): Promise<{ item: IManifestItem; ms: number }>;
}
const CORPUS = path.resolve(__dirname, '..', '..', '..', '..', 'pipeline', 'corpus');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harness = require(path.join(CORPUS, 'harness.js')) as IHarness;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildMalicious, buildVulnerable } = require(path.join(CORPUS, 'malicious.js')) as {
  buildMalicious(dir: string): { name: string; kind: string; why: string; dir: string }[];
  buildVulnerable(
    dir: string
  ): { name: string; kind: string; cwe: string; why: string; dir: string }[];
};

describe('malicious corpus through the real scan + decide stages', () => {
  let outcomes: { name: string; kind: string; item: IManifestItem }[];

  before(async () => {
    harness.scannerEnvironment();
    const packages = buildMalicious(await tempDir('rg-malicious-'));
    outcomes = await harness.pool(packages, 2, async p => ({
      name: p.name,
      kind: p.kind,
      item: (await harness.scanAndDecide(p.dir, { name: p.name })).item
    }));
  });

  it('covers every kind of attack the policy must stop', () => {
    assert.deepEqual([...new Set(outcomes.map(o => o.kind))].sort(), [
      'committed keys',
      'import-time exfiltration',
      'install-time exfiltration',
      'lifecycle-script downloader',
      'malicious model file',
      'obfuscated exec',
      'platform-gated installer',
      'typosquat name',
      'vulnerable pins'
    ]);
    assert.ok(outcomes.length >= 14);
  });

  it('ran every known scanner on each package, all completing', () => {
    for (const o of outcomes) {
      const names = (o.item.scanners ?? []).map(s => s.name);
      for (const known of harness.knownScannerNames())
        assert.ok(names.includes(known), `${o.name}: ${known} did not run`);
      const failed = (o.item.scanners ?? []).filter(s => s.status !== 'ok');
      assert.deepEqual(
        failed.map(s => `${s.name}: ${s.message}`),
        [],
        o.name
      );
    }
  });

  it('refuses 100% of the corpus, naming the gate', () => {
    const missed = outcomes
      .filter(o => o.item.decision !== 'refused')
      .map(o => `${o.name} (${o.kind}): ${o.item.decision} ${o.item.reason ?? ''}`);
    assert.deepEqual(missed, []);
    for (const o of outcomes) assert.match(o.item.reason ?? '', /gate: \d+ finding/, o.name);
  });

  it('refuses each kind through the gate made for it', () => {
    const gate = (name: string) => outcomes.find(o => o.name === name)!.item.reason ?? '';
    assert.match(gate('deploy-helpers'), /secret gate/);
    assert.match(gate('webfetch-utils'), /vulnerability gate/);
    assert.match(gate('reqeusts'), /malicious gate: .*repoguard.typosquat-name/);
    assert.match(gate('color-logger-x'), /malicious gate: .*dynamic/);
    assert.match(gate('fastjsonlog'), /malicious gate/);
    assert.match(gate('tiny-sentiment-model'), /malicious gate: .*models\.pickle-dangerous-global/);
    for (const name of ['winsetup-tools', 'initcurl', 'env-beacon-js', 'colorfmt', 'quickcache'])
      assert.match(gate(name), /malicious gate/, name);
  });
});

describe('vulnerable sinks in called code through semgrep + bandit and the decide stage', () => {
  let outcomes: { name: string; cwe: string; item: IManifestItem }[];

  before(async () => {
    harness.scannerEnvironment();
    const packages = buildVulnerable(await tempDir('rg-vulnerable-'));
    outcomes = await harness.pool(packages, 2, async p => ({
      name: p.name,
      cwe: p.cwe,
      item: (await harness.scanAndDecide(p.dir, { name: p.name, scanners: ['semgrep', 'bandit'] }))
        .item
    }));
  });

  it('covers deserialisation, command, code and SQL injection, and disabled TLS verification', () => {
    assert.deepEqual([...new Set(outcomes.map(o => o.cwe))].sort(), [
      'CWE-295',
      'CWE-502',
      'CWE-78',
      'CWE-89',
      'CWE-95'
    ]);
  });

  it('refuses 100% at the SAST gate, naming the sink as a vulnerability', () => {
    const missed = outcomes
      .filter(o => o.item.decision !== 'refused' || !/sast gate/.test(o.item.reason ?? ''))
      .map(o => `${o.name}: ${o.item.decision} ${o.item.reason ?? ''}`);
    assert.deepEqual(missed, []);
    for (const o of outcomes) {
      const drivers = (o.item.drivers ?? []) as (IManifestItem['drivers'] & object)[number][];
      assert.ok(
        drivers.some(d => /vulnerability sink \(CWE-\d+\)/.test(d.note ?? '')),
        `${o.name}: ${JSON.stringify(drivers.map(d => [d.ruleId, d.note]))}`
      );
    }
  });
});
