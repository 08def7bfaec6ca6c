/** The formats module on the golden files that pytest checks too. */
import { readFileSync, readdirSync } from 'fs';
import path from 'path';
import {
  IParsedFile,
  REQUEST_COLUMNS,
  RESULT_COLUMNS,
  appendRows,
  fromLegacyUrl,
  parseRequests,
  parseResults
} from '..';

const FIXTURES = path.join(__dirname, '..', 'fixtures');
const GOLDEN = readdirSync(FIXTURES)
  .filter(f => f.endsWith('.expected.json'))
  .map(f => f.slice(0, -'.expected.json'.length));

function asGolden(parsed: IParsedFile<unknown>): unknown {
  return {
    format: parsed.format,
    rows: parsed.rows,
    errors: parsed.errors.map(e => (e.field ? { row: e.row, field: e.field } : { row: e.row }))
  };
}

describe('golden CSV files', () => {
  it.each(GOLDEN)('%s parses as expected', name => {
    // Given a golden file and the expectation pytest checks too
    const text = readFileSync(path.join(FIXTURES, `${name}.csv`), 'utf8');
    const expected = JSON.parse(readFileSync(path.join(FIXTURES, `${name}.expected.json`), 'utf8'));
    // When TypeScript reads it
    const parsed = name.startsWith('results') ? parseResults(text) : parseRequests(text);
    // Then it reads exactly what Python reads
    expect(asGolden(parsed)).toEqual(expected);
  });

  it('cover a BOM file, a CRLF file, the legacy header and bad rows', () => {
    expect(GOLDEN).toEqual(
      expect.arrayContaining(['requests-bom', 'requests-crlf', 'legacy', 'requests-bad-rows'])
    );
    expect(readFileSync(path.join(FIXTURES, 'requests-bom.csv'))[0]).toBe(0xef);
  });
});

describe('appendRows', () => {
  const row = {
    request_id: 'rq-100',
    package_name: 'pkg',
    repo_url: 'https://github.com/o/pkg',
    ref: '',
    requester_email: 'd@example.com',
    justification: 'quote " comma , and\nnewline',
    requested_at: '2026-11-24T00:00:00Z'
  };

  it.each(['requests', 'requests-crlf', 'requests-bom'])(
    'keeps the line ending and BOM of %s and round-trips a hard value',
    name => {
      const raw = readFileSync(path.join(FIXTURES, `${name}.csv`), 'utf8');
      const out = appendRows(raw, REQUEST_COLUMNS, [row]);
      expect(out.startsWith(raw)).toBe(true);
      expect(out.slice(raw.length).includes('\r\n')).toBe(raw.includes('\r\n'));
      const parsed = parseRequests(out);
      expect(parsed.errors).toEqual([]);
      expect(parsed.rows[parsed.rows.length - 1].values).toEqual(row);
    }
  );

  it('writes the header into an empty file', () => {
    expect(appendRows('', RESULT_COLUMNS, [])).toBe(RESULT_COLUMNS.join(',') + '\n');
  });

  it('extends an older results header with the new columns', () => {
    const raw = readFileSync(path.join(FIXTURES, 'results-15-columns.csv'), 'utf8');
    const out = appendRows(raw, RESULT_COLUMNS, [{ request_id: 'rq-200', reason: 'x' }]);
    const parsed = parseResults(out);
    expect(parsed.errors).toEqual([]);
    expect(parsed.rows.map(r => r.values.request_id)).toEqual(['rq-009', 'rq-200']);
    expect(parsed.rows[1].values.reason).toBe('x');
  });

  it('refuses to append under a foreign header', () => {
    expect(() => appendRows('a,b\n1,2\n', REQUEST_COLUMNS, [{}])).toThrow(/header/);
  });
});

describe('fromLegacyUrl', () => {
  it.each([
    [
      'https://github.com/dmlc/xgboost/archive/refs/heads/master.zip',
      'https://github.com/dmlc/xgboost',
      'master'
    ],
    ['https://github.com/o/r/archive/refs/tags/v1.2.tar.gz', 'https://github.com/o/r', 'v1.2'],
    ['https://github.com/o/r/archive/0123abc.zip', 'https://github.com/o/r', '0123abc'],
    ['https://codeload.github.com/o/r/zip/refs/tags/v1', 'https://github.com/o/r', 'v1'],
    ['https://gitlab.com/o/r', 'https://gitlab.com/o/r', '']
  ])('maps %s', (url, repoUrl, ref) => {
    expect(fromLegacyUrl(url)).toEqual({ repoUrl, ref });
  });
});
