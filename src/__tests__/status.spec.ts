import {
  filterIndices,
  inFlight,
  installOutcome,
  newDecisions,
  parseDependencies,
  searchKeys,
  unapprovedDependencies
} from '../status';

const row = (name: string, extra: Record<string, string> = {}) =>
  ({
    package_name: name,
    repo_url: `https://github.com/o/${name}`,
    commit_sha: 'abc',
    ...extra
  }) as any;

describe('status helpers', () => {
  it('knows when a request is in flight', () => {
    expect(inFlight([{ status: 'approved' } as any, { status: 'scan' } as any])).toBe(true);
    expect(inFlight([{ status: 'approved' } as any, { status: 'refused' } as any])).toBe(false);
  });

  it('filters by every word, case-insensitively', () => {
    const keys = searchKeys([row('numpy'), row('pandas'), row('NumExpr')]);
    expect(filterIndices(keys, 'NUM')).toEqual([0, 2]);
    expect(filterIndices(keys, 'num expr')).toEqual([2]);
    expect(filterIndices(keys, '')).toEqual([0, 1, 2]);
  });

  it('filters 10,000 rows per keystroke well under 100 ms', () => {
    const rows = Array.from({ length: 10000 }, (_, i) => row(`package-${i}`));
    const keys = searchKeys(rows);
    const t0 = performance.now();
    for (const query of ['p', 'pa', 'pac', 'pack', 'package-9', 'package-99']) {
      filterIndices(keys, query);
    }
    expect((performance.now() - t0) / 6).toBeLessThan(100);
  });

  it('reads dependencies and names those not approved', () => {
    expect(parseDependencies('requests >=2; numpy')).toEqual([
      { name: 'requests', spec: '>=2' },
      { name: 'numpy', spec: '' }
    ]);
    const approved = [row('Numpy'), row('x', { dependencies: 'numpy; requests>=2' })];
    expect(unapprovedDependencies(approved[1], approved).map(d => d.name)).toEqual(['requests']);
  });

  it('reads the install outcome from the kernel reply (the text is shown, not parsed)', () => {
    expect(installOutcome('x', true, 'Successfully installed x').status).toBe('installed');
    expect(installOutcome('x', false, 'repoguard: error: missing: requests').status).toBe('failed');
    expect(installOutcome('x', false, 'repoguard: error: missing: requests').missing).toEqual([]);
  });
});

describe('newDecisions', () => {
  const entry = (id: string, status: string) =>
    ({ request: { request_id: id, package_name: id }, status }) as any;
  const ids = (list: { request: { request_id: string } }[]) => list.map(e => e.request.request_id);

  it('announces a request that reached a decision, not one already seen decided', () => {
    const known = new Map([
      ['a', 'scan'],
      ['b', 'approved'],
      ['c', 'refused']
    ]);
    const now = [entry('a', 'approved'), entry('b', 'approved'), entry('c', 'refused')];
    expect(ids(newDecisions(known, true, now))).toEqual(['a']);
  });

  it('announces an approval that a re-scan revoked (the panel refreshes into revoked)', () => {
    const known = new Map([
      ['a', 'approved'],
      ['b', 'revoked']
    ]);
    expect(ids(newDecisions(known, true, [entry('a', 'revoked'), entry('b', 'revoked')]))).toEqual([
      'a'
    ]);
  });

  it('stays quiet on the first list; after it, a request first seen decided is announced', () => {
    const now = [entry('a', 'revoked'), entry('b', 'approved'), entry('c', 'queued')];
    expect(newDecisions(new Map(), false, now)).toEqual([]);
    expect(ids(newDecisions(new Map(), true, now))).toEqual(['a', 'b']);
  });
});
