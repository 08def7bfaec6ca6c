/** Email through a real SMTP server (smtp-server on 127.0.0.1) in the embedded mode. */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { simpleParser, ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { runOnce } from '../src/runner';
import {
  addRequests,
  cleanPackageFiles,
  fakeScanners,
  makeRepo,
  makeWorkspace,
  requestRow,
  results
} from './helpers';

describe('notify over SMTP to a real smtp-server on 127.0.0.1', () => {
  const received: { from: string; to: string[]; mail: ParsedMail; raw: string }[] = [];
  let server: SMTPServer;
  let port: number;

  before(async () => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', c => chunks.push(c as Buffer));
        stream.on('end', async () => {
          const raw = Buffer.concat(chunks);
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map(r => r.address),
            mail: await simpleParser(raw),
            raw: raw.toString()
          });
          callback();
        });
      }
    });
    await new Promise<void>(resolve => server.listen(0, '127.0.0.1', () => resolve()));
    port = (server.server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>(resolve => server.close(() => resolve())));

  it('delivers the multipart decision mail with the install command to the requester', async () => {
    const bin = await fakeScanners({ semgrep: 'ok', bandit: 'ok' });
    const ws = await makeWorkspace({
      scannerBinDir: bin,
      scanners: ['semgrep', 'bandit'],
      mail: {
        transport: 'smtp',
        from: 'repoguard@example.com',
        host: '127.0.0.1',
        port,
        ignoreTLS: true
      }
    });
    const repo = await makeRepo(path.join(ws.sourcesDir, 'mailpkg'), cleanPackageFiles('mailpkg'));
    await addRequests(ws, [
      requestRow({
        request_id: 'm1',
        package_name: 'mailpkg',
        repo_url: repo.url,
        requester_email: 'scientist@example.com'
      })
    ]);
    await runOnce({ mode: 'local', workspace: ws.root, write: () => undefined });
    assert.equal((await results(ws))[0].decision, 'approved');
    assert.equal(received.length, 1);
    const [message] = received;
    assert.equal(message.from, 'repoguard@example.com');
    assert.deepEqual(message.to, ['scientist@example.com']);
    assert.equal(message.mail.subject, '[RepoGuard] mailpkg: approved');
    assert.match(message.mail.text ?? '', /%repoguard install mailpkg/);
    assert.match(String(message.mail.html), /%repoguard install mailpkg/);
    assert.match(message.raw, /multipart\/alternative/);
  });
});
