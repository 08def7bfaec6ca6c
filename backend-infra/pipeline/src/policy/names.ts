/**
 * Typosquat names: a request (or the name the source declares in setup.py,
 * setup.cfg, pyproject.toml or package.json) one edit away from a popular
 * package's name (a letter added, dropped, changed, or two swapped), and not
 * itself a popular name, is a `malicious` finding (rule
 * `repoguard.typosquat-name`, high severity, medium confidence). GuardDog's
 * own typosquatting check needs the registries' download statistics, which
 * the network-less scan does not have; this list is the offline stand-in.
 * A false alarm is waived like any finding (rule + package + commit).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { IPolicyFinding } from './index';

/** Popular PyPI and npm names (PEP 503 normalized, lowercase). */
export const POPULAR_NAMES: readonly string[] = [
  // PyPI
  'requests',
  'urllib3',
  'idna',
  'certifi',
  'charset-normalizer',
  'six',
  'attrs',
  'click',
  'packaging',
  'python-dateutil',
  'pyyaml',
  'jinja2',
  'markupsafe',
  'itsdangerous',
  'flask',
  'tabulate',
  'tqdm',
  'rich',
  'pluggy',
  'toml',
  'tomli',
  'setuptools',
  'wheel',
  'pip',
  'numpy',
  'pandas',
  'scipy',
  'matplotlib',
  'scikit-learn',
  'boto3',
  'botocore',
  's3transfer',
  'awscli',
  'jmespath',
  'pytz',
  'typing-extensions',
  'cryptography',
  'cffi',
  'pycparser',
  'pyasn1',
  'rsa',
  'protobuf',
  'grpcio',
  'googleapis-common-protos',
  'pydantic',
  'pydantic-core',
  'fastapi',
  'starlette',
  'uvicorn',
  'django',
  'sqlalchemy',
  'psycopg2',
  'pymysql',
  'redis',
  'celery',
  'kombu',
  'aiohttp',
  'yarl',
  'multidict',
  'frozenlist',
  'aiosignal',
  'async-timeout',
  'httpx',
  'httpcore',
  'h11',
  'anyio',
  'sniffio',
  'filelock',
  'virtualenv',
  'platformdirs',
  'pytest',
  'iniconfig',
  'coverage',
  'mock',
  'colorama',
  'pygments',
  'docutils',
  'sphinx',
  'jedi',
  'parso',
  'ipython',
  'jupyter',
  'notebook',
  'jupyterlab',
  'tornado',
  'pyzmq',
  'traitlets',
  'decorator',
  'wrapt',
  'lxml',
  'beautifulsoup4',
  'soupsieve',
  'pillow',
  'openpyxl',
  'xlrd',
  'pyarrow',
  'fsspec',
  'tensorflow',
  'torch',
  'keras',
  'transformers',
  'tokenizers',
  'huggingface-hub',
  'safetensors',
  'regex',
  'nltk',
  'networkx',
  'sympy',
  'mpmath',
  'joblib',
  'threadpoolctl',
  'psutil',
  'paramiko',
  'bcrypt',
  'pynacl',
  'pyjwt',
  'oauthlib',
  'requests-oauthlib',
  'google-auth',
  'cachetools',
  'simplejson',
  'ujson',
  'orjson',
  'marshmallow',
  'werkzeug',
  'gunicorn',
  'greenlet',
  'gevent',
  'websocket-client',
  'websockets',
  'pyparsing',
  'markdown',
  'chardet',
  'distlib',
  'exceptiongroup',
  'importlib-metadata',
  'zipp',
  'more-itertools',
  'jsonschema',
  'referencing',
  'rpds-py',
  'msgpack',
  'dill',
  'cloudpickle',
  'xgboost',
  'lightgbm',
  'seaborn',
  'plotly',
  'dash',
  'bokeh',
  'statsmodels',
  'opencv-python',
  'selenium',
  'scrapy',
  'twisted',
  'pyopenssl',
  // npm
  'lodash',
  'chalk',
  'commander',
  'ms',
  'debug',
  'react',
  'react-dom',
  'express',
  'axios',
  'moment',
  'tslib',
  'typescript',
  'webpack',
  'babel-core',
  'request',
  'async',
  'underscore',
  'uuid',
  'semver',
  'glob',
  'minimist',
  'yargs',
  'fs-extra',
  'rimraf',
  'mkdirp',
  'colors',
  'bluebird',
  'jquery',
  'vue',
  'eslint',
  'prettier',
  'dotenv',
  'cross-env',
  'node-fetch',
  'ws',
  'socket.io',
  'body-parser',
  'cors',
  'inquirer',
  'ora',
  'classnames',
  'prop-types',
  'rxjs',
  'zone.js',
  'core-js',
  'esprima',
  'acorn',
  'qs',
  'mime',
  'cookie',
  'jsonwebtoken',
  'mongoose',
  'mongodb',
  'mysql',
  'pg',
  'sequelize',
  'electron',
  'event-stream',
  'coa',
  'rc',
  'ua-parser-js'
];

function normalize(name: string): string {
  return name
    .trim()
    .toLowerCase()
    .replace(/[-_.]+/g, '-');
}

/** Optimal string alignment distance (Damerau–Levenshtein with adjacent swaps), capped at 2. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 1) return 2;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [
    i,
    ...Array(b.length).fill(0)
  ]);
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return Math.min(d[a.length][b.length], 2);
}

const POPULAR = new Set(POPULAR_NAMES.map(normalize));

/** The popular name `name` imitates, or null. Names shorter than 4 letters are not judged. */
export function typosquatOf(name: string): string | null {
  const n = normalize(name);
  if (n.length < 4 || POPULAR.has(n)) return null;
  for (const p of POPULAR) {
    if (p.length >= 4 && editDistance(n, p) === 1) return p;
  }
  return null;
}

/** Names a source declares for itself (first match in each metadata file). */
export async function declaredNames(
  sourceDir: string
): Promise<{ name: string; file: string; line: number }[]> {
  const out: { name: string; file: string; line: number }[] = [];
  const patterns: [string, RegExp][] = [
    ['setup.py', /\bname\s*=\s*['"]([^'"]{1,100})['"]/],
    ['setup.cfg', /^\s*name\s*=\s*(\S{1,100})\s*$/m],
    ['pyproject.toml', /^\s*name\s*=\s*["']([^"']{1,100})["']/m],
    ['package.json', /"name"\s*:\s*"([^"]{1,214})"/]
  ];
  for (const [file, re] of patterns) {
    let text: string;
    try {
      text = await readFile(path.join(sourceDir, file), 'utf8');
    } catch {
      continue;
    }
    const m = re.exec(text);
    if (m)
      out.push({
        name: m[1],
        file,
        line: text.slice(0, m.index).split('\n').length + (m[0].startsWith('\n') ? 1 : 0)
      });
  }
  return out;
}

/** Typosquat findings of a request: its requested name and the names its source declares. */
export async function nameFindings(
  packageName: string,
  sourceDir: string | undefined
): Promise<IPolicyFinding[]> {
  const names = [
    { name: packageName, file: '', line: 0 },
    ...(sourceDir ? await declaredNames(sourceDir) : [])
  ];
  const findings: IPolicyFinding[] = [];
  const seen = new Set<string>();
  for (const { name, file, line } of names) {
    const popular = typosquatOf(name);
    if (!popular || seen.has(normalize(name))) continue;
    seen.add(normalize(name));
    findings.push({
      scanner: 'repoguard-names',
      ruleId: 'repoguard.typosquat-name',
      severity: 'high',
      effectiveSeverity: 'high',
      confidence: 'medium',
      category: 'malicious',
      phase: 'unknown',
      message: `package name "${name}" is one edit away from the popular package "${popular}"${file ? ` (declared in ${file})` : ' (requested name)'}`,
      path: file,
      line: line || undefined
    });
  }
  return findings;
}
