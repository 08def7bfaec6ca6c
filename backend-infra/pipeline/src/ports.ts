/**
 * What the stages need from the outside world. The embedded mode implements
 * these in adapters/local (bare repos, a folder, .eml files or SMTP), the
 * production mode in adapters/aws (GitHub via octokit, S3, SES).
 */
export interface IPublishRequest {
  packageName: string;
  /** Absolute path of the checked-out source (a git repo holding `commitSha`). */
  source: string;
  commitSha: string;
  /** Tag name: the request id. */
  tag: string;
  /** Public origin, for the repo description. */
  origin: string;
}

export interface IPublished {
  /** URL to install from (`file://…` or `https://github.com/ORG/NAME.git`). */
  url: string;
  createdRepo: boolean;
  /** False when the tag already pointed at the commit (a rerun). */
  pushed: boolean;
}

export interface IPublisher {
  publish(request: IPublishRequest): Promise<IPublished>;
  /**
   * Export the tree of `commit` of the published mirror of `packageName` into
   * the folder `dest`: what a re-scan reads (the mirror, never the public origin).
   */
  exportCommit?(packageName: string, commit: string, dest: string): Promise<void>;
}

export interface IReportFile {
  name: string;
  body: string;
  contentType: string;
}

export interface IReportStore {
  /** Store the files of one request's report; returns the report page's URL. */
  put(key: string, files: IReportFile[]): Promise<string>;
}

export interface IMailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** For file names and headers (X-RepoGuard-Request). */
  key: string;
}

export interface IMailer {
  /** Send; returns where it went (a message id, a file). */
  send(message: IMailMessage): Promise<string>;
}
