/** Reports in DIR/reports/<request_id>/; the URL is relative to the workspace. */
import path from 'node:path';
import { writeAtomic } from '../../fsutil';
import type { IReportFile, IReportStore } from '../../ports';

export class LocalReportStore implements IReportStore {
  constructor(private readonly reportsDir: string) {}

  async put(key: string, files: IReportFile[]): Promise<string> {
    for (const file of files) {
      await writeAtomic(path.join(this.reportsDir, key, file.name), file.body);
    }
    return `reports/${key}/report.html`;
  }
}
