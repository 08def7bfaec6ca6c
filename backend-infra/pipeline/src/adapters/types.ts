/** The set of adapters a mode provides to the stages. */
import type { ISigner } from '../attest';
import type { ILedger } from '../ledger';
import type { Resolver } from '../net';
import type { IMailer, IPublisher, IReportStore } from '../ports';

export interface IAdapters {
  ledger: ILedger;
  publisher: IPublisher;
  reports: IReportStore;
  /** Signs every decision (local Ed25519 key in the workspace; KMS in AWS). */
  signer?: ISigner;
  mailer: IMailer;
  reportLink?: (reportUrl: string) => string;
  /** Where run state files go (embedded mode). */
  stateDir?: string;
  resolve?: Resolver;
}
