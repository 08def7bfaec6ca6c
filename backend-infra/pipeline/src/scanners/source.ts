/**
 * What the scanned source says about its own scanning, before any scanner
 * runs (the pseudo-scanner `repoguard-source` of a request):
 *
 * - Scanner control files (`.gitleaks.toml`, `.gitleaksignore`,
 *   `osv-scanner.toml`, `.checkov.yaml`, `.semgrepignore`, `.bandit`, …)
 *   are removed from the scanned copy (the published commit is not changed)
 *   and each is a finding `repoguard.scanner-control-file`. Removing them is
 *   the second defence: every scanner is also run with a pinned
 *   configuration passed explicitly, so a renamed or alternative config path
 *   has no effect either (see `pinned.ts`).
 * - Inline suppression markers (`# nosemgrep`, `# nosec`, `gitleaks:allow`,
 *   `checkov:skip=`, …) are ignored by the scanners (flags) and each is a
 *   finding `repoguard.suppression-marker` of the suppressed scanner's
 *   category: a suppression in the source is evidence, never a waiver
 *   (waivers are InfoSec's file, see the README).
 * - A file or folder name that is not valid UTF-8 is a finding
 *   `repoguard.undecodable-name` (medium, malicious gate): scanners written
 *   in Python and Node cannot open such a path reliably (GuardDog's YARA
 *   rules all fail on one), so such a name blinds them.
 *
 * These findings are low unless noted: they do not refuse by themselves;
 * what they tried to hide is still found and counted.
 */
import { open, readdir, rm } from 'node:fs/promises';
import type { FindingCategory, IFinding, IScannerRun } from '../types';

/** Files by which a source could configure (silence) a scanner: removed before scanning. */
export const SCANNER_CONTROL_FILES: Record<string, string> = {
  '.semgrepignore': 'semgrep',
  '.bandit': 'bandit',
  '.gitleaks.toml': 'gitleaks',
  '.gitleaksignore': 'gitleaks',
  'osv-scanner.toml': 'osv',
  '.osv-scanner.toml': 'osv',
  '.checkov.yaml': 'checkov',
  '.checkov.yml': 'checkov',
  '.checkov.baseline': 'checkov'
};

const SCANNER_CATEGORY: Record<string, FindingCategory> = {
  semgrep: 'sast',
  bandit: 'sast',
  gitleaks: 'secret',
  osv: 'vulnerability',
  checkov: 'config',
  guarddog: 'malicious'
};

/** Inline suppression markers, by the scanner they would silence. */
const MARKERS: { scanner: string; marker: string; pattern: RegExp }[] = [
  { scanner: 'semgrep', marker: 'nosemgrep', pattern: /\bnosem(?:grep)?\b/i },
  { scanner: 'bandit', marker: 'nosec', pattern: /#\s*nosec\b/i },
  { scanner: 'gitleaks', marker: 'gitleaks:allow', pattern: /gitleaks:allow/ },
  {
    scanner: 'checkov',
    marker: 'checkov:skip',
    pattern: /\b(?:checkov|bridgecrew|cortex):skip=/
  }
];

/** Files read for markers at most this big (bytes); larger ones are left to the scanners' size limits. */
const MARKER_READ_LIMIT = 4 * 1024 * 1024;
/** At most this many marker findings per scanner (the count of the rest is one more finding). */
const MARKER_CAP = 200;

export const SOURCE_SCANNER = 'repoguard-source';

function finding(
  ruleId: string,
  message: string,
  rel: string,
  category: FindingCategory,
  severity: IFinding['severity'],
  line?: number
): IFinding {
  return {
    scanner: SOURCE_SCANNER,
    ruleId,
    severity,
    effectiveSeverity: severity,
    confidence: 'high',
    message,
    path: rel,
    ...(line ? { line } : {}),
    category,
    phase: 'unknown'
  };
}

function isBinary(head: Buffer): boolean {
  return head.subarray(0, 8000).includes(0);
}

/**
 * Check the source at `target` (removing control files) and return the
 * `repoguard-source` run. A marker of a scanner that does not run is still
 * reported (it is evidence either way).
 */
export async function checkSource(target: string): Promise<IScannerRun> {
  const t0 = Date.now();
  const findings: IFinding[] = [];
  const markerCount = new Map<string, number>();
  const walk = async (dir: Buffer, relDir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    for (const entry of entries) {
      const nameBytes = entry.name as unknown as Buffer;
      const name = nameBytes.toString('utf8');
      const full = Buffer.concat([dir, Buffer.from('/'), nameBytes]);
      const rel = relDir ? `${relDir}/${name}` : name;
      if (!Buffer.from(name, 'utf8').equals(nameBytes)) {
        findings.push(
          finding(
            'repoguard.undecodable-name',
            'A file name that is not valid UTF-8: scanners cannot open it reliably (it blinds GuardDog, for one). No package needs one.',
            rel,
            'malicious',
            'medium'
          )
        );
      }
      if (entry.isDirectory()) {
        if (!(relDir === '' && name === '.git')) await walk(full, rel);
        continue;
      }
      if (!entry.isFile()) continue;
      const owner = SCANNER_CONTROL_FILES[name];
      if (owner) {
        await rm(full, { force: true });
        findings.push(
          finding(
            'repoguard.scanner-control-file',
            `${name} (${owner} configuration) removed before scanning: ${owner} runs with RepoGuard's pinned configuration only`,
            rel,
            SCANNER_CATEGORY[owner] ?? 'sast',
            'low'
          )
        );
        continue;
      }
      await findMarkers(full, rel);
    }
  };
  const findMarkers = async (full: Buffer, rel: string): Promise<void> => {
    let text: string;
    const handle = await open(full, 'r');
    try {
      const { size } = await handle.stat();
      if (size === 0 || size > MARKER_READ_LIMIT) return;
      const buffer = Buffer.alloc(size);
      await handle.read(buffer, 0, size, 0);
      if (isBinary(buffer)) return;
      text = buffer.toString('utf8');
    } finally {
      await handle.close();
    }
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      for (const m of MARKERS) {
        if (!m.pattern.test(lines[i])) continue;
        const n = (markerCount.get(m.scanner) ?? 0) + 1;
        markerCount.set(m.scanner, n);
        if (n > MARKER_CAP) continue;
        findings.push(
          finding(
            'repoguard.suppression-marker',
            `\`${m.marker}\` in the source: ignored (${m.scanner} reports what it would hide; a suppression is evidence, never a waiver)`,
            rel,
            SCANNER_CATEGORY[m.scanner] ?? 'sast',
            'low',
            i + 1
          )
        );
      }
    }
  };
  await walk(Buffer.from(target), '');
  for (const [scanner, n] of markerCount) {
    if (n > MARKER_CAP) {
      findings.push(
        finding(
          'repoguard.suppression-marker',
          `${n - MARKER_CAP} more ${scanner} suppression markers in the source (not listed)`,
          '',
          SCANNER_CATEGORY[scanner] ?? 'sast',
          'low'
        )
      );
    }
  }
  return { name: SOURCE_SCANNER, status: 'ok', durationMs: Date.now() - t0, findings };
}
