/**
 * Frontend tests: pure TypeScript (src/common) and the React components with
 * Testing Library. JupyterLab packages ship ES modules, so the few tests that
 * import them map them through ts-jest's ESM interop via babel-free transform.
 */
module.exports = {
  testEnvironment: 'jsdom',
  testRegex: 'src/.*/__tests__/.*\\.spec\\.tsx?$',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
  reporters: ['default']
};
