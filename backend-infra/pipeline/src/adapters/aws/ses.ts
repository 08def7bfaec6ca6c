/** Email through Amazon SES (API v2) with nodemailer's SES transport. */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { IMailMessage, IMailer } from '../../ports';

export class SesMailer implements IMailer {
  private readonly transport: Transporter;

  constructor(
    client: SESv2Client,
    private readonly from: string,
    private readonly configurationSet?: string
  ) {
    this.transport = nodemailer.createTransport({ SES: { sesClient: client, SendEmailCommand } });
  }

  async send(message: IMailMessage): Promise<string> {
    const info = await this.transport.sendMail({
      from: this.from,
      to: message.to,
      subject: message.subject,
      text: message.text,
      html: message.html,
      headers: { 'X-RepoGuard-Request': message.key },
      ...(this.configurationSet ? { ses: { ConfigurationSetName: this.configurationSet } } : {})
    });
    return String(info.messageId);
  }
}
