/**
 * Licence: the SPDX id of the repository's licence, from its licence file
 * (LICENSE, LICENCE, COPYING, … at the root: an `SPDX-License-Identifier:`
 * line, else the distinctive wording of the common licences) and from its
 * declared metadata (package.json `license`, pyproject `license` /
 * `license-expression` / licence classifiers, setup.cfg `license`), the
 * declared values normalized with `spdx-correct` and checked with
 * `spdx-expression-parse`. Runs in-process (no tool, no sandbox needed: it
 * only reads text).
 *
 * One finding per distinct licence found, rule id `licence/<SPDX expression>`
 * (e.g. `licence/MIT`), severity `info`: the policy applies the allow/deny
 * lists. No licence at all is `licence/none` (low); a licence file whose text
 * matches no known licence is `licence/unknown` (low).
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Log, Result } from 'sarif';
import spdxCorrect from 'spdx-correct';
import spdxParse from 'spdx-expression-parse';
import type { IScannerSpec } from './registry';
import { makeLog, makeResult } from './sarif';

/** Distinctive phrases of licence texts (all must appear, case- and space-insensitive). */
const TEXTS: [string, string[], string[]?][] = [
  ['AGPL-3.0', ['gnu affero general public license', 'version 3']],
  ['LGPL-3.0', ['gnu lesser general public license', 'version 3']],
  ['LGPL-2.1', ['gnu lesser general public license', 'version 2.1']],
  ['LGPL-2.0', ['gnu library general public license', 'version 2']],
  ['GPL-3.0', ['gnu general public license', 'version 3']],
  ['GPL-2.0', ['gnu general public license', 'version 2']],
  ['Apache-2.0', ['apache license', 'version 2.0']],
  ['MPL-2.0', ['mozilla public license', '2.0']],
  ['EPL-2.0', ['eclipse public license', 'v 2.0']],
  ['BSL-1.0', ['boost software license - version 1.0']],
  ['Unlicense', ['this is free and unencumbered software released into the public domain']],
  ['CC0-1.0', ['cc0 1.0 universal']],
  ['PSF-2.0', ['python software foundation license version 2']],
  [
    'ISC',
    [
      'permission to use, copy, modify, and/or distribute this software for any purpose with or without fee'
    ]
  ],
  [
    '0BSD',
    [
      'permission to use, copy, modify, and/or distribute this software for any purpose with or without fee'
    ],
    ['copyright notice and this permission notice appear in all copies']
  ],
  [
    'MIT-0',
    ['permission is hereby granted, free of charge'],
    ['the above copyright notice and this permission notice shall be included']
  ],
  [
    'MIT',
    [
      'permission is hereby granted, free of charge',
      'the above copyright notice and this permission notice shall be included'
    ]
  ],
  ['BSD-3-Clause', ['redistribution and use in source and binary forms', 'neither the name']],
  [
    'BSD-2-Clause',
    [
      'redistribution and use in source and binary forms',
      'redistributions in binary form must reproduce'
    ],
    ['neither the name']
  ],
  ['Zlib', ["this software is provided 'as-is'", 'altered source versions must be plainly marked']]
];

const LICENCE_FILE =
  /^(licen[cs]e|copying|unlicense)(\.(md|txt|rst))?$|^(licen[cs]e|copying)[-_.][\w.-]*$/i;

const norm = (text: string) => text.toLowerCase().replace(/\s+/g, ' ');

/** The SPDX id a licence text matches, `unknown` when none does. */
export function licenceFromText(text: string): string {
  const tag = /SPDX-License-Identifier:\s*([^\s*#]+(?:\s+(?:AND|OR|WITH)\s+[^\s*#]+)*)/.exec(text);
  if (tag) {
    const id = spdxId(tag[1]);
    if (id) return id;
  }
  const t = norm(text);
  // The licence whose wording starts earliest wins: a licence text names others
  // (MPL-2.0 lists the GNU licences, AGPL-3.0 among them, as "Secondary Licenses";
  // the GPL names the AGPL), and a bundled file (Apache-2.0, then the MPL-2.0 of a
  // vendored part) starts with the package's own. On a tie, the list order: the
  // most specific wording first.
  let best: { id: string; at: number } | null = null;
  for (const [id, all, none = []] of TEXTS) {
    if (all.every(p => t.includes(p)) && !none.some(p => t.includes(p))) {
      const at = t.indexOf(all[0]);
      if (!best || at < best.at) best = { id, at };
    }
  }
  return best?.id ?? 'unknown';
}

/** A declared licence string as a valid SPDX expression, or null. */
export function spdxId(declared: string): string | null {
  const value = declared.trim();
  if (!value) return null;
  try {
    spdxParse(value);
    return value;
  } catch {
    const corrected = spdxCorrect(value);
    return corrected ?? null;
  }
}

const CLASSIFIER: Record<string, string> = {
  'MIT License': 'MIT',
  'Apache Software License': 'Apache-2.0',
  'BSD License': 'BSD-3-Clause',
  'ISC License (ISCL)': 'ISC',
  'Mozilla Public License 2.0 (MPL 2.0)': 'MPL-2.0',
  'GNU General Public License v3 (GPLv3)': 'GPL-3.0',
  'GNU General Public License v2 (GPLv2)': 'GPL-2.0',
  'GNU Affero General Public License v3': 'AGPL-3.0',
  'GNU Lesser General Public License v3 (LGPLv3)': 'LGPL-3.0',
  'GNU Lesser General Public License v2 or later (LGPLv2+)': 'LGPL-2.0-or-later',
  'The Unlicense (Unlicense)': 'Unlicense',
  'Python Software Foundation License': 'PSF-2.0'
};

async function text(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return null;
  }
}

/** Declared licences in the root metadata files: [file, line, SPDX or raw]. */
async function declared(target: string): Promise<[string, number | undefined, string][]> {
  const out: [string, number | undefined, string][] = [];
  const lineOf = (content: string, index: number) => content.slice(0, index).split('\n').length;
  const pkg = await text(path.join(target, 'package.json'));
  if (pkg) {
    try {
      const json = JSON.parse(pkg) as { license?: unknown; licenses?: { type?: string }[] };
      const value =
        typeof json.license === 'string'
          ? json.license
          : (json.license as { type?: string } | undefined)?.type;
      const values = value ? [value] : (json.licenses ?? []).map(l => l.type ?? '').filter(Boolean);
      for (const v of values)
        out.push(['package.json', lineOf(pkg, Math.max(0, pkg.indexOf('"licen'))), v]);
    } catch {
      // not JSON
    }
  }
  const pyproject = await text(path.join(target, 'pyproject.toml'));
  if (pyproject) {
    const expr = /^\s*license(?:-expression)?\s*=\s*["']([^"']+)["']/m.exec(pyproject);
    const table = /^\s*license\s*=\s*\{\s*text\s*=\s*["']([^"']+)["']/m.exec(pyproject);
    const m = expr ?? table;
    if (m) out.push(['pyproject.toml', lineOf(pyproject, m.index), m[1]]);
    for (const c of pyproject.matchAll(/License :: (?:OSI Approved :: )?([^"'\n]+)/g)) {
      out.push([
        'pyproject.toml',
        lineOf(pyproject, c.index ?? 0),
        CLASSIFIER[c[1].trim()] ?? c[1].trim()
      ]);
    }
  }
  const setupCfg = await text(path.join(target, 'setup.cfg'));
  if (setupCfg) {
    const m = /^\s*license\s*=\s*(.+)$/m.exec(setupCfg);
    if (m) out.push(['setup.cfg', lineOf(setupCfg, m.index), m[1].trim()]);
  }
  return out;
}

export async function detectLicences(target: string): Promise<Result[]> {
  const found = new Map<string, { uri: string; line?: number; how: string }>();
  let unknownFile: string | null = null;
  const entries = await readdir(target, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile() || !LICENCE_FILE.test(e.name)) continue;
    const content = await text(path.join(target, e.name));
    if (content === null) continue;
    const id = licenceFromText(content);
    if (id === 'unknown') {
      unknownFile = e.name;
    } else if (!found.has(id)) {
      found.set(id, { uri: e.name, line: 1, how: `the text of ${e.name}` });
    }
  }
  for (const [file, line, raw] of await declared(target)) {
    const id = spdxId(raw);
    if (id && !found.has(id)) {
      found.set(id, { uri: file, line, how: `declared in ${file} ("${raw.slice(0, 60)}")` });
    }
  }
  const results: Result[] = [...found].map(([id, where]) =>
    makeResult({
      ruleId: `licence/${id}`,
      message: `licence ${id}, from ${where.how}`,
      uri: where.uri,
      line: where.line,
      severity: 'info',
      confidence: 'high',
      category: 'licence',
      phase: 'unknown',
      extra: { spdx: id }
    })
  );
  if (unknownFile && found.size === 0) {
    results.push(
      makeResult({
        ruleId: 'licence/unknown',
        message: `${unknownFile} matches no known licence and no licence is declared`,
        uri: unknownFile,
        line: 1,
        severity: 'low',
        confidence: 'medium',
        category: 'licence',
        phase: 'unknown',
        extra: { spdx: 'unknown' }
      })
    );
  }
  if (results.length === 0) {
    results.push(
      makeResult({
        ruleId: 'licence/none',
        message: 'no licence: no LICENSE/COPYING file and none declared in package metadata',
        uri: '',
        severity: 'low',
        confidence: 'high',
        category: 'licence',
        phase: 'unknown',
        extra: { spdx: 'none' }
      })
    );
  }
  return results;
}

export function licence(): IScannerSpec {
  return {
    name: 'licence',
    category: 'licence',
    async run(ctx): Promise<Log> {
      return makeLog({ name: 'RepoGuard licence' }, await detectLicences(ctx.target));
    }
  };
}
