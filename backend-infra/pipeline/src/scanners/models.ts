/**
 * Model files are code: a pickle-based file (`.pkl`, `.pickle`, `.joblib`,
 * `.pt`, `.pth`, `.bin`, `.ckpt`, `.dill`, `.sav`, `.npy`/`.npz` with object
 * arrays) runs the callables its opcodes name when loaded, and a Keras
 * `Lambda` layer (`.keras`, `.h5`) runs the Python it serialises.
 *
 * Scanner: picklescan 1.0.5 (PyPI, its own venv pinned by
 * scripts/install-scanners.sh), called through its library API from its own
 * interpreter inside the network-less sandbox, on every candidate file of the
 * tree (found here first; a tree without one costs no sandbox start).
 *
 * Findings (category `malicious`):
 * - `models.pickle-dangerous-global` (high, high confidence): a global
 *   picklescan rates dangerous (`os.system`, `builtins.exec`, `subprocess.*`,
 *   `runpy`, …) — the file runs code on load; refused;
 * - `models.keras-lambda` (high): a Keras model with a Lambda layer;
 * - `models.pickle-suspicious-global` (low): a global outside picklescan's
 *   allow list (custom classes of the package: reported, not counted);
 * - `models.unscannable` (low): a candidate picklescan could not parse;
 * - `models.opaque-binary` (info): compiled or opaque binaries the tree ships
 *   (`.so`, `.pyd`, `.dll`, `.dylib`, `.exe`, `.wasm`, `.onnx`, …), listed in
 *   the report, not counted (nothing reads them statically).
 */
import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Log, Result } from 'sarif';
import type { IScannerSpec } from './registry';
import type { IRunContext } from './run';
import { ScannerFailure } from './run';
import { makeLog, makeResult } from './sarif';

const PICKLE_EXT = new Set([
  '.pkl',
  '.pickle',
  '.joblib',
  '.pt',
  '.pth',
  '.bin',
  '.ckpt',
  '.dill',
  '.sav',
  '.npy',
  '.npz',
  '.mar'
]);
const KERAS_EXT = new Set(['.keras', '.h5', '.hdf5']);
const OPAQUE_EXT = new Set([
  '.so',
  '.pyd',
  '.dll',
  '.dylib',
  '.exe',
  '.wasm',
  '.onnx',
  '.pb',
  '.tflite',
  '.node',
  '.jar',
  '.class'
]);
/** At most this many opaque binaries are listed one by one (the rest as one count). */
const MAX_LISTED = 100;

/** The scanning program, run by picklescan's own interpreter: JSON lines on stdout. */
const SCRIPT = `
import json, sys, zipfile
from picklescan.scanner import SafetyLevel, scan_file_path
for path in sys.argv[1:]:
    out = {"path": path, "globals": [], "error": None, "lambda": False}
    try:
        if path.lower().endswith((".keras", ".h5", ".hdf5")):
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as z:
                    data = b"".join(z.read(n) for n in z.namelist() if n.endswith(".json"))
            else:
                with open(path, "rb") as f:
                    data = f.read(50_000_000)
            out["lambda"] = b'"class_name": "Lambda"' in data or b'"class_name":"Lambda"' in data
        else:
            r = scan_file_path(path)
            out["error"] = "picklescan could not parse the file" if r.scan_err else None
            out["globals"] = [[g.module, g.name, g.safety.value] for g in r.globals if g.safety != SafetyLevel.Innocuous]
    except Exception as e:
        out["error"] = type(e).__name__ + ": " + str(e)[:200]
    print(json.dumps(out), flush=True)
`;

interface IModelScan {
  path: string;
  globals: [string, string, string][];
  error: string | null;
  lambda: boolean;
}

/** Candidate model files and opaque binaries of a tree (relative paths). */
export async function modelFiles(target: string): Promise<{ models: string[]; opaque: string[] }> {
  const models: string[] = [];
  const opaque: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== '.git') await walk(full);
      } else if (e.isFile()) {
        const ext = path.extname(e.name).toLowerCase();
        const rel = path.relative(target, full);
        if (PICKLE_EXT.has(ext) || KERAS_EXT.has(ext)) models.push(rel);
        else if (OPAQUE_EXT.has(ext)) opaque.push(rel);
      }
    }
  };
  await walk(target);
  return { models: models.sort(), opaque: opaque.sort() };
}

export function modelResults(scans: IModelScan[], opaque: string[]): Result[] {
  const results: Result[] = [];
  for (const s of scans) {
    const uri = s.path;
    const dangerous = s.globals.filter(g => g[2] === 'dangerous');
    const suspicious = s.globals.filter(g => g[2] === 'suspicious');
    if (dangerous.length) {
      results.push(
        makeResult({
          ruleId: 'models.pickle-dangerous-global',
          message: `model file runs code when loaded: it imports ${dangerous
            .slice(0, 5)
            .map(g => `${g[0]}.${g[1]}`)
            .join(', ')} (picklescan: dangerous)`,
          uri,
          severity: 'high',
          confidence: 'high',
          category: 'malicious'
        })
      );
    }
    if (suspicious.length) {
      results.push(
        makeResult({
          ruleId: 'models.pickle-suspicious-global',
          message: `model file imports globals outside the allow list: ${suspicious
            .slice(0, 5)
            .map(g => `${g[0]}.${g[1]}`)
            .join(', ')} (picklescan: suspicious)`,
          uri,
          severity: 'low',
          confidence: 'medium',
          category: 'malicious'
        })
      );
    }
    if (s.lambda) {
      results.push(
        makeResult({
          ruleId: 'models.keras-lambda',
          message: 'Keras model with a Lambda layer: loading it runs the Python code it serialises',
          uri,
          severity: 'high',
          confidence: 'high',
          category: 'malicious'
        })
      );
    }
    if (s.error) {
      results.push(
        makeResult({
          ruleId: 'models.unscannable',
          message: `model file not analysed: ${s.error}`.slice(0, 300),
          uri,
          severity: 'low',
          confidence: 'high',
          category: 'malicious'
        })
      );
    }
  }
  for (const uri of opaque.slice(0, MAX_LISTED)) {
    results.push(
      makeResult({
        ruleId: 'models.opaque-binary',
        message: 'opaque binary shipped in the source (not analysed statically)',
        uri,
        severity: 'info',
        confidence: 'high',
        category: 'malicious'
      })
    );
  }
  if (opaque.length > MAX_LISTED) {
    results.push(
      makeResult({
        ruleId: 'models.opaque-binary',
        message: `${opaque.length - MAX_LISTED} more opaque binaries not listed`,
        uri: opaque[MAX_LISTED],
        severity: 'info',
        confidence: 'high',
        category: 'malicious'
      })
    );
  }
  return results;
}

export function models(): IScannerSpec {
  return {
    name: 'models',
    category: 'malicious',
    async run(ctx: IRunContext): Promise<Log> {
      const { models: files, opaque } = await modelFiles(ctx.target);
      const scans: IModelScan[] = [];
      if (files.length) {
        const python = path.join(
          path.dirname(await realpath(await ctx.which('picklescan'))),
          'python'
        );
        await stat(python).catch(() => {
          throw new ScannerFailure('missing', `picklescan's interpreter not found at ${python}`);
        });
        for (let i = 0; i < files.length; i += 200) {
          const batch = files.slice(i, i + 200);
          const exit = await ctx.exec(python, [
            '-c',
            SCRIPT,
            ...batch.map(f => path.join(ctx.target, f))
          ]);
          const lines = exit.stdout.split('\n').filter(l => l.startsWith('{'));
          if (exit.code !== 0 || lines.length !== batch.length) {
            throw new ScannerFailure(
              'crashed',
              `picklescan exit ${exit.code}, ${lines.length}/${batch.length} file(s) scanned: ${exit.stderr.trim().slice(-300)}`,
              exit.code
            );
          }
          for (const line of lines) {
            const scan = JSON.parse(line) as IModelScan;
            scans.push({ ...scan, path: path.relative(ctx.target, scan.path) });
          }
        }
      }
      return makeLog(
        {
          name: 'picklescan',
          informationUri: 'https://github.com/mmaitre314/picklescan',
          version: '1.0.5'
        },
        modelResults(scans, opaque)
      );
    }
  };
}
