/**
 * The benign corpus (corpus/benign.json: 20 PyPI sdists and 5 npm tarballs of
 * popular packages, fetched by URL from the registries into a cache folder, see
 * corpus/fetch.js) through the real scan + decide stages with every known
 * scanner, 2 packages at a time: at most 1 refused by the default policy.
 *
 * It needs the registries (first run) and takes minutes, so it runs when
 * REPOGUARD_CORPUS=1; otherwise it is skipped with the reason. `node backend-infra/bench/corpus.js` prints the
 * same figures as a table.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { IFinding, IManifestItem } from '../src/types';

interface IHarness {
  scannerEnvironment(): void;
  pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]>;
  scanAndDecide(
    dir: string,
    options: { name: string }
  ): Promise<{ item: IManifestItem; ms: number; naive: IFinding[] }>;
}
interface IPackage {
  ecosystem: string;
  name: string;
  version: string;
  dir: string;
}
const CORPUS = path.resolve(__dirname, '..', '..', '..', '..', 'pipeline', 'corpus');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const harness = require(path.join(CORPUS, 'harness.js')) as IHarness;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fetch = require(path.join(CORPUS, 'fetch.js')) as {
  fetchBenign(): Promise<IPackage[]>;
  cacheDir(): string;
};

const list = (
  JSON.parse(readFileSync(path.join(CORPUS, 'benign.json'), 'utf8')) as {
    packages: Omit<IPackage, 'dir'>[];
  }
).packages;
const cached = list.every(p =>
  existsSync(path.join(fetch.cacheDir(), 'src', `${p.ecosystem}-${p.name}-${p.version}`))
);
const enabled = process.env.REPOGUARD_CORPUS === '1';
const why = `set REPOGUARD_CORPUS=1 (${cached ? 'the sources are cached' : 'fetches 25 packages from PyPI and npm once, into the cache'}; about 2.5 minutes on 2 cores)`;

describe(
  'benign corpus through the real scan + decide stages',
  { skip: enabled ? false : why },
  () => {
    let outcomes: { pkg: IPackage; item: IManifestItem; naive: IFinding[] }[];

    before(async () => {
      harness.scannerEnvironment();
      const packages = await fetch.fetchBenign();
      outcomes = await harness.pool(packages, 2, async pkg => {
        const r = await harness.scanAndDecide(pkg.dir, { name: pkg.name });
        return { pkg, item: r.item, naive: r.naive };
      });
    });

    it('holds at least 20 popular packages from both registries', () => {
      assert.ok(outcomes.length >= 20);
      assert.ok(
        outcomes.some(o => o.pkg.ecosystem === 'npm') &&
          outcomes.some(o => o.pkg.ecosystem === 'pypi')
      );
    });

    it('refuses at most 1 with the default policy (and says which and why)', () => {
      const refused = outcomes.filter(o => o.item.decision !== 'approved');
      const naive = outcomes.filter(o => o.naive.length > 0).length;
      const lines = refused.map(o => `${o.pkg.name}: ${o.item.decision}: ${o.item.reason}`);
      console.log(
        `benign corpus: ${refused.length}/${outcomes.length} refused by the policy; the naive rule would refuse ${naive}\n${lines.join('\n')}`
      );
      assert.ok(refused.length <= 1, lines.join('\n'));
    });
  }
);
