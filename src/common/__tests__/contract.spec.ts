/**
 * The contract's shared vectors (pytest runs the same files on the Python side):
 * the dependency cell, git's "lost the race" messages and the run-state file.
 */
import { readFileSync } from 'fs';
import path from 'path';
import {
  IDependency,
  IRunState,
  formatDependencyCell,
  formatRunState,
  lostRace,
  parseDependencyCell
} from '..';

function fixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', name), 'utf8')) as T;
}

describe('the dependency cell', () => {
  const { cases } = fixture<{
    cases: { cell: string; dependencies: IDependency[]; errors: number; format?: boolean }[];
  }>('dependency-cells.json');

  it.each(cases.map(c => [c.cell, c] as const))('reads %j', (_cell, testCase) => {
    // When the cell is read
    const parsed = parseDependencyCell(testCase.cell);
    // Then exactly the readable items come out, markers kept, and each bad item is named
    expect(parsed.dependencies).toEqual(testCase.dependencies);
    expect(parsed.errors).toHaveLength(testCase.errors);
  });

  it.each(cases.filter(c => c.format).map(c => [c.cell, c] as const))(
    'writes %j',
    (_cell, testCase) => {
      // Given the dependencies the pipeline found, when it records them, then the cell is the vector
      expect(formatDependencyCell(testCase.dependencies)).toBe(testCase.cell);
    }
  );
});

describe("git's lost-the-race messages", () => {
  const { cases } = fixture<{ cases: { stderr: string; lostRace: boolean }[] }>(
    'git-retry-messages.json'
  );
  it.each(cases.map(c => [c.stderr.split('\n')[0], c] as const))('%s', (_line, testCase) => {
    expect(lostRace(testCase.stderr)).toBe(testCase.lostRace);
  });
});

describe('the run-state file', () => {
  const { files } = fixture<{ files: { name: string; state: IRunState; text: string }[] }>(
    'run-state.json'
  );
  it.each(files.map(f => [f.name, f] as const))('writes %s as the vector', (_name, file) => {
    // Given a state with its keys in another order, the file has the contract's field order
    const shuffled = Object.fromEntries(Object.entries(file.state).reverse()) as IRunState;
    expect(formatRunState(shuffled)).toBe(file.text);
  });
});
