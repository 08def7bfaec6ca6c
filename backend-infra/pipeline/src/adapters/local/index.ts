/** The embedded mode's adapters, all inside one workspace folder. */
import path from 'node:path';
import { localSigner } from '../../attest';
import { GitLedger } from '../../ledger';
import type { IAdapters } from '../types';
import type { IWorkspaceConfig, Workspace } from '../../workspace';
import { localMailer } from './mailer';
import { LocalPublisher } from './publisher';
import { LocalReportStore } from './reports';

export function localAdapters(workspace: Workspace, config: IWorkspaceConfig): IAdapters {
  return {
    ledger: GitLedger.local(workspace.requestRepo),
    publisher: new LocalPublisher(workspace.privateDir),
    reports: new LocalReportStore(workspace.reportsDir),
    signer: localSigner(workspace.keysDir),
    mailer: localMailer(config.mail, workspace.outboxDir),
    reportLink: url => path.join(workspace.root, url),
    stateDir: workspace.stateDir
  };
}
