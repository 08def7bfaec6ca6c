/**
 * Embedded mail: .eml files in DIR/outbox (nodemailer's stream transport),
 * or SMTP when the workspace config says `mail.transport: "smtp"`.
 */
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import { writeAtomic } from '../../fsutil';
import type { IMailMessage, IMailer } from '../../ports';
import type { IMailConfig } from '../../workspace';

function envelope(from: string, message: IMailMessage) {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    headers: { 'X-RepoGuard-Request': message.key }
  };
}

export class OutboxMailer implements IMailer {
  private readonly transport: Transporter;

  constructor(
    private readonly outboxDir: string,
    private readonly from: string
  ) {
    this.transport = nodemailer.createTransport({
      streamTransport: true,
      buffer: true,
      newline: 'unix'
    });
  }

  async send(message: IMailMessage): Promise<string> {
    const info = (await this.transport.sendMail(envelope(this.from, message))) as {
      message: Buffer;
    };
    const file = path.join(this.outboxDir, `${message.key}.eml`);
    await writeAtomic(file, info.message);
    return file;
  }
}

export class SmtpMailer implements IMailer {
  private readonly transport: Transporter;

  constructor(private readonly config: IMailConfig) {
    this.transport = nodemailer.createTransport({
      host: config.host ?? '127.0.0.1',
      port: config.port ?? 25,
      secure: config.secure ?? false,
      ignoreTLS: config.ignoreTLS ?? false,
      auth: config.user
        ? { user: config.user, pass: process.env.REPOGUARD_SMTP_PASSWORD ?? '' }
        : undefined
    });
  }

  async send(message: IMailMessage): Promise<string> {
    const info = await this.transport.sendMail(envelope(this.config.from, message));
    return String(info.messageId);
  }
}

export function localMailer(config: IMailConfig, outboxDir: string): IMailer {
  return config.transport === 'smtp'
    ? new SmtpMailer(config)
    : new OutboxMailer(outboxDir, config.from);
}
