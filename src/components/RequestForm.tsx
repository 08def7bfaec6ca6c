import * as React from 'react';
import type { TranslationBundle } from '@jupyterlab/translation';
import { validateRequest } from '../common/validate';
import type { RepoGuard } from '../tokens';

export interface IRequestFormProps {
  /** The server's validation policy (allowed hosts and local roots); null before health. */
  policy: RepoGuard.IPolicy | null;
  /** The requester email from the settings; '' means "ask once". */
  email: string;
  busy: boolean;
  /** Fields to pre-fill; a new `draftVersion` resets the form to them. */
  draft: Partial<RepoGuard.ISubmission>;
  draftVersion: number;
  trans: TranslationBundle;
  /** Submit; resolves with the server's field errors (empty on success). */
  onSubmit: (fields: RepoGuard.ISubmission) => Promise<RepoGuard.IFieldError[]>;
}

type Field = 'package_name' | 'repo_url' | 'ref' | 'justification' | 'requester_email';

const EMPTY: Record<Field, string> = {
  package_name: '',
  repo_url: '',
  ref: '',
  justification: '',
  requester_email: ''
};

/** The "Request package" form: checks the same rules as the pipeline before sending. */
export function RequestForm(props: IRequestFormProps): JSX.Element {
  const { policy, email, busy, draft, draftVersion, trans, onSubmit } = props;
  const [values, setValues] = React.useState<Record<Field, string>>({ ...EMPTY, ...draft });
  const [errors, setErrors] = React.useState<Partial<Record<string, string>>>({});
  const [touched, setTouched] = React.useState(false);
  const [sent, setSent] = React.useState<string | null>(null);
  const idPrefix = React.useMemo(
    () => `jp-RepoGuardForm-${Math.random().toString(36).slice(2)}`,
    []
  );

  React.useEffect(() => {
    if (draftVersion > 0) {
      setValues({ ...EMPTY, ...draft });
      setErrors({});
      setTouched(false);
      setSent(null);
    }
  }, [draftVersion]);

  const check = (next: Record<Field, string>): Partial<Record<string, string>> => {
    const found: Partial<Record<string, string>> = {};
    const row = {
      request_id: 'draft',
      package_name: next.package_name.trim(),
      repo_url: next.repo_url.trim(),
      ref: next.ref.trim(),
      requester_email: (email || next.requester_email).trim(),
      justification: next.justification.trim(),
      requested_at: ''
    };
    for (const error of validateRequest(
      row,
      policy ?? { allowedHosts: [], allowedLocalRoots: [] }
    )) {
      // Without the server's policy yet, leave the URL to the server.
      if (!policy && error.field === 'repo_url' && row.repo_url !== '') {
        continue;
      }
      found[error.field] = error.reason;
    }
    if (!email && next.requester_email.trim() === '') {
      found.requester_email = 'is required once, for the decision email';
    }
    return found;
  };

  const change =
    (field: Field) => (event: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => {
      const next = { ...values, [field]: event.target.value };
      setValues(next);
      setSent(null);
      if (touched) {
        setErrors(check(next));
      }
    };

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    setTouched(true);
    const found = check(values);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      return;
    }
    const fields: RepoGuard.ISubmission = {
      package_name: values.package_name.trim(),
      repo_url: values.repo_url.trim(),
      ref: values.ref.trim(),
      justification: values.justification.trim(),
      requester_email: (email || values.requester_email).trim()
    };
    const serverErrors = await onSubmit(fields);
    if (serverErrors.length === 0) {
      setSent(fields.package_name);
      setValues({ ...EMPTY });
      setTouched(false);
      setErrors({});
    } else {
      setErrors(Object.fromEntries(serverErrors.map(e => [e.field, e.reason])));
    }
  };

  const labels: Record<Field, string> = {
    package_name: trans.__('Package name'),
    repo_url: trans.__('Repository URL'),
    ref: trans.__('Ref'),
    justification: trans.__('Justification'),
    requester_email: trans.__('Your email')
  };
  const hints: Partial<Record<Field, string>> = {
    repo_url: trans.__('https://github.com/OWNER/REPO'),
    ref: trans.__('branch, tag or commit (default branch if empty)')
  };

  const input = (field: Field, multiline = false) => {
    const id = `${idPrefix}-${field}`;
    const error = errors[field];
    const common = {
      id,
      name: field,
      value: values[field],
      onChange: change(field),
      placeholder: hints[field],
      'aria-invalid': error ? true : undefined,
      'aria-describedby': error ? `${id}-error` : undefined,
      className: 'jp-RepoGuardForm-input jp-mod-styled'
    };
    return (
      <div className={`jp-RepoGuardForm-field${error ? ' jp-mod-error' : ''}`} key={field}>
        <label htmlFor={id}>{labels[field]}</label>
        {multiline ? <textarea rows={2} {...common} /> : <input type="text" {...common} />}
        {error ? (
          <div id={`${id}-error`} className="jp-RepoGuardForm-error">
            {labels[field]} {trans.__(error)}
          </div>
        ) : null}
      </div>
    );
  };

  return (
    <form
      className="jp-RepoGuardForm"
      onSubmit={submit}
      noValidate
      aria-label={trans.__('Request a package')}
    >
      {input('package_name')}
      {input('repo_url')}
      {input('ref')}
      {input('justification', true)}
      {email ? null : input('requester_email')}
      {errors.form ? (
        <div role="alert" className="jp-RepoGuardForm-error">
          {errors.form}
        </div>
      ) : null}
      <div className="jp-RepoGuardForm-actions">
        <button type="submit" className="jp-Button jp-mod-accept jp-mod-styled" disabled={busy}>
          {trans.__('Request package')}
        </button>
        {email ? (
          <span
            className="jp-RepoGuardForm-email"
            title={trans.__('Change it in Settings › RepoGuard')}
          >
            {trans.__('as %1', email)}
          </span>
        ) : null}
      </div>
      {sent ? (
        <div role="status" className="jp-RepoGuardForm-sent">
          {trans.__('%1 requested. It appears below and moves through the pipeline.', sent)}
        </div>
      ) : null}
    </form>
  );
}
