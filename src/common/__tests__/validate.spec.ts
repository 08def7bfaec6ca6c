import { IRequestRow, IValidationPolicy, validateRequest } from '..';

const policy: IValidationPolicy = {
  allowedHosts: ['github.com', 'gitlab.com'],
  allowedLocalRoots: ['/srv/sources']
};

function row(overrides: Partial<IRequestRow> = {}): IRequestRow {
  return {
    request_id: 'rq-1',
    package_name: 'requests',
    repo_url: 'https://github.com/psf/requests',
    ref: 'v2.32.3',
    requester_email: 'ana@example.com',
    justification: 'HTTP client',
    requested_at: '2026-11-24T10:00:00Z',
    ...overrides
  };
}

function fields(overrides: Partial<IRequestRow>, p = policy): string[] {
  return validateRequest(row(overrides), p).map(e => e.field);
}

describe('validateRequest', () => {
  it('accepts a well-formed request', () => {
    expect(validateRequest(row(), policy)).toEqual([]);
  });

  it('accepts popular real names and refs', () => {
    for (const [name, url, ref] of [
      ['scikit-learn', 'https://github.com/scikit-learn/scikit-learn', '1.5.2'],
      ['zope.interface', 'https://github.com/zopefoundation/zope.interface', 'master'],
      ['typing_extensions', 'https://github.com/python/typing_extensions', ''],
      ['PyYAML', 'https://github.com/yaml/pyyaml.git', 'release/6.0'],
      ['attrs', 'https://gitlab.com/attrs/attrs', '0e322af87745eff34caffe4df68456ebc20d9068']
    ]) {
      expect(fields({ package_name: name, repo_url: url, ref })).toEqual([]);
    }
  });

  it.each([
    ['http://github.com/o/r', /https/],
    ['ssh://git@github.com/o/r', /https/],
    ['ext::sh -c touch% /tmp/pwned', /spaces|URL/],
    ['https://user:tok@github.com/o/r', /credentials/],
    ['https://evil.invalid/o/r', /allow list/],
    ['https://github.com.evil.invalid/o/r', /allow list/],
    ['https://github.com:8443/o/r', /port/],
    ['https://github.com/o', /repository/],
    ['https://github.com/o/r?x=1', /query/],
    ['--upload-pack=touch /tmp/x', /spaces|option/],
    ['-uhttps://github.com/o/r', /option/],
    ['file:///etc/passwd', /under/],
    ['file:///srv/sources/../../etc', /under/],
    ['', /required/]
  ])('refuses repo_url %s naming the field', (url, reason) => {
    const errors = validateRequest(row({ repo_url: url }), policy);
    expect(errors.map(e => e.field)).toEqual(['repo_url']);
    expect(errors[0].reason).toMatch(reason);
  });

  it('accepts a file:// source under an allowed local root only', () => {
    expect(fields({ repo_url: 'file:///srv/sources/pkg' })).toEqual([]);
    expect(
      fields({ repo_url: 'file:///srv/sources/pkg' }, { allowedHosts: ['github.com'] })
    ).toEqual(['repo_url']);
    expect(fields({ repo_url: 'file:///srv/sourcesX/pkg' })).toEqual(['repo_url']);
  });

  it.each([
    '--output=x',
    '-b',
    'a..b',
    'main.lock',
    'a b',
    'x;rm -rf',
    '$(id)',
    'refs/heads/.hidden',
    '@{-1}'
  ])('refuses ref %s', ref => {
    expect(fields({ ref })).toEqual(['ref']);
  });

  it.each([
    '-rf',
    '../etc',
    'a/b',
    'name with space',
    'x;y',
    '',
    'a'.repeat(101),
    '.hidden',
    'pkg-'
  ])('refuses package_name %p', name => {
    expect(fields({ package_name: name })).toEqual(['package_name']);
  });

  it('checks id, email, justification and time, each by name', () => {
    expect(fields({ request_id: '../x' })).toEqual(['request_id']);
    expect(fields({ requester_email: 'not-an-email' })).toEqual(['requester_email']);
    expect(fields({ justification: 'bell\u0007' })).toEqual(['justification']);
    expect(fields({ justification: 'x'.repeat(2001) })).toEqual(['justification']);
    expect(fields({ requested_at: 'yesterday' })).toEqual(['requested_at']);
    expect(fields({ justification: 'two\nlines\tok' })).toEqual([]);
  });

  it('reports every bad field of one row at once', () => {
    expect(fields({ package_name: '', repo_url: 'http://x', ref: '-x' })).toEqual([
      'package_name',
      'repo_url',
      'ref'
    ]);
  });
});
