/**
 * Notify: email the requester the decision, the findings that drove it and
 * the install command (multipart text + HTML). A row without a requester
 * address (legacy format) is skipped; a failed send is logged and does not
 * undo the recorded result.
 */
import type { IStageContext } from '../context';
import type { IMailer } from '../ports';
import { errorMessage, redact } from '../redact';
import { renderMail } from '../report';
import type { IManifest } from '../types';

export interface INotifyDeps {
  mailer: IMailer;
  /** Turn a report_url into a link for the mail (e.g. absolute path or console URL). */
  reportLink?: (reportUrl: string) => string;
}

const EMAIL = /^[^\s@<>,;"]+@[^\s@<>,;"]+$/;

export async function notify(ctx: IStageContext, deps: INotifyDeps): Promise<IManifest> {
  for (const item of ctx.manifest.items) {
    if (!item.recorded || item.notified !== undefined) {
      continue;
    }
    const to = item.request.requester_email;
    if (!to || !EMAIL.test(to) || !item.key) {
      item.notified = 'skipped';
      ctx.progress.log(
        `notify  ${item.request.request_id || `row ${item.row}`}  skipped (no usable requester address)`
      );
      continue;
    }
    await ctx.progress.track('notify', item, async () => {
      const link = item.reportUrl ? (deps.reportLink ?? (u => u))(item.reportUrl) : '';
      const mail = renderMail(item, link);
      // The mail goes through the redactor like every other output.
      const content = Object.fromEntries(
        Object.entries(mail).map(([k, v]) => [k, typeof v === 'string' ? redact(v) : v])
      ) as typeof mail;
      try {
        const where = await deps.mailer.send({ to, key: item.key!, ...content });
        item.notified = 'sent';
        return `mailed ${to} (${where})`;
      } catch (error) {
        item.notified = 'failed';
        return `mail to ${to} failed: ${errorMessage(error)}`;
      }
    });
    await ctx.progress.state(item, 'done', item.decision ?? 'error', item.reason ?? '');
  }
  for (const item of ctx.manifest.items) {
    if (item.notified === 'skipped') {
      await ctx.progress.state(item, 'done', item.decision ?? 'error', item.reason ?? '');
    }
  }
  return ctx.manifest;
}
