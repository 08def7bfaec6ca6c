/** validate.ts on the shared vectors that pytest runs on repoguard/validation.py. */
import { readFileSync } from 'fs';
import path from 'path';
import { IRequestRow, IValidationPolicy, validateRequest } from '..';

interface ICase {
  set: Partial<IRequestRow>;
  fields: string[];
  reason?: string;
}

const vectors = JSON.parse(
  readFileSync(path.join(__dirname, '..', 'fixtures', 'validation-cases.json'), 'utf8')
) as { policy: IValidationPolicy; base: IRequestRow; cases: ICase[] };

describe('validateRequest on the shared vectors', () => {
  it.each(vectors.cases.map(c => [JSON.stringify(c.set).slice(0, 60), c] as const))(
    '%s',
    (_name, testCase) => {
      // Given the base row with the case's fields set
      const row = { ...vectors.base, ...testCase.set };
      // When it is validated
      const errors = validateRequest(row, vectors.policy);
      // Then exactly the expected fields are refused, with a reason naming why
      expect(errors.map(e => e.field)).toEqual(testCase.fields);
      if (testCase.reason) {
        expect(errors[0].reason).toContain(testCase.reason);
      }
    }
  );

  it('refuses file:// sources when no local root is allowed (production)', () => {
    const row = { ...vectors.base, repo_url: 'file:///srv/sources/pkg' };
    const errors = validateRequest(row, { allowedHosts: ['github.com'] });
    expect(errors.map(e => e.field)).toEqual(['repo_url']);
    expect(errors[0].reason).toContain('embedded mode');
  });

  it('limits the justification length', () => {
    const row = { ...vectors.base, justification: 'x'.repeat(2001) };
    expect(validateRequest(row, vectors.policy).map(e => e.field)).toEqual(['justification']);
  });
});
