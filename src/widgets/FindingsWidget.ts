/** The findings of one decision, opened in the main area from the Refused list. */
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import * as React from 'react';
import { FindingsView } from '../components/FindingsView';
import { RepoGuardModel } from '../model';
import { RepoGuard } from '../tokens';

export class FindingsWidget extends ReactWidget {
  constructor(
    private _model: RepoGuardModel,
    readonly requestId: string,
    private _trans: TranslationBundle,
    private _openReport: (requestId: string) => void
  ) {
    super();
    this.addClass('jp-RepoGuardFindingsWidget');
    this.title.label = _trans.__('Findings: %1', requestId);
    void this._load();
  }

  protected render(): React.ReactElement {
    return React.createElement(FindingsView, {
      detail: this._detail,
      error: this._error,
      trans: this._trans,
      onOpenReport: this._openReport
    });
  }

  private async _load(): Promise<void> {
    try {
      this._detail = await this._model.result(this.requestId);
      this.title.label = this._trans.__('Findings: %1', this._detail.package_name);
    } catch (reason) {
      this._error = reason instanceof Error ? reason.message : String(reason);
    }
    this.update();
  }

  private _detail: RepoGuard.IResultDetail | null = null;
  private _error: string | null = null;
}
