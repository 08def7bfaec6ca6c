/** Reports in S3: s3://BUCKET/PREFIX<request_id>/{report.html,report.md,report.sarif}. */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { IReportFile, IReportStore } from '../../ports';

export class S3ReportStore implements IReportStore {
  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix = 'reports/'
  ) {}

  async put(key: string, files: IReportFile[]): Promise<string> {
    for (const file of files) {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: `${this.prefix}${key}/${file.name}`,
          Body: file.body,
          ContentType: file.contentType,
          ServerSideEncryption: 'aws:kms'
        })
      );
    }
    return `s3://${this.bucket}/${this.prefix}${key}/report.html`;
  }
}
