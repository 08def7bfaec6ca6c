/**
 * Galata against a real JupyterLab (started by `npm start`) in Debian's
 * Chromium. Never download a browser: CHROMIUM or /usr/bin/chromium is used.
 * The server's log goes to jupyter-server.log (gitignored), not to the console.
 */
const base = require('@jupyterlab/galata/lib/playwright-config');

module.exports = {
  ...base,
  testDir: '.',
  testMatch: ['tests/**/*.spec.ts', 'bench/**/*.spec.ts'],
  reporter: [[process.env.CI ? 'line' : 'list'], ['html', { open: 'never' }]],
  retries: 0,
  timeout: 180000,
  workers: 1,
  use: {
    ...base.use,
    // galata's base asks for video, which needs a downloaded ffmpeg.
    video: 'off',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--disable-sync',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update'
      ]
    }
  },
  webServer: {
    command: 'npm start > jupyter-server.log 2>&1',
    url: 'http://localhost:8888/lab',
    timeout: 120000,
    reuseExistingServer: !process.env.CI
  }
};
