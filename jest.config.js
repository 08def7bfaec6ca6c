/**
 * Frontend tests: the pure TypeScript of src/common and the React components
 * (props in, callbacks out) with Testing Library in jsdom.
 */
module.exports = {
  testEnvironment: 'jsdom',
  testRegex: '/src/(.*/)?__tests__/.*\\.spec\\.tsx?$',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  },
  moduleFileExtensions: ['ts', 'tsx', 'js', 'json'],
  reporters: ['default']
};
