/**
 * The malicious corpus (corpus/malicious.js: install-time exfiltration,
 * obfuscated exec, lifecycle-script downloaders, typosquat names, committed
 * keys, vulnerable pins), written at test time, through the real scan and
 * decide stages with every known scanner: 100% refused.
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
    options: { name: string }
  ): Promise<{ item: IManifestItem; ms: number }>;
}
const CORPUS = path.resolve(__dirname, '..', '..', '..', '..', 'pipeline', 'corpus');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harness = require(path.join(CORPUS, 'harness.js')) as IHarness;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildMalicious } = require(path.join(CORPUS, 'malicious.js')) as {
  buildMalicious(dir: string): { name: string; kind: string; why: string; dir: string }[];
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
      'install-time exfiltration',
      'lifecycle-script downloader',
      'obfuscated exec',
      'typosquat name',
      'vulnerable pins'
    ]);
    assert.ok(outcomes.length >= 10);
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
  });
});
