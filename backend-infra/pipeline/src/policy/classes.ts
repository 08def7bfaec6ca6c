/**
 * Rule classes: what a finding is evidence of, which decides how the policy
 * weighs it (src/policy/index.ts).
 *
 * - `vulnerability`: a vulnerability sink with a CWE (unsafe deserialisation
 *   of input, code / command / SQL injection, disabled TLS verification, weak
 *   protocol or cipher, path traversal on extraction). It counts at its
 *   severity wherever it sits in installed code: real vulnerabilities live in
 *   code that runs when called.
 * - `capability`: what the code can do (spawn a process, open a socket, exec
 *   its own files, import ftplib, read the environment). Normal in libraries;
 *   its weight depends on when it runs: install time counts (upgraded from
 *   medium), import time counts as rated, code run only when called is
 *   lowered, code that is not installed is lowered more. What it actually did
 *   is the dynamic scanner's evidence.
 * - `malware`: evidence of malicious intent that does not depend on where it
 *   sits (obfuscated exec, download-and-run, install-time package
 *   installation, exfiltration channels, observed behaviour, typosquat names).
 *   Never lowered by phase.
 * - `lint`: code-quality advice (assert, try/except/pass, hard-coded tmp
 *   paths, weak hashes used as checksums, XML parsers without defusedxml).
 *   Reported, never counted above low.
 *
 * RepoGuard's own semgrep rules carry their class in `metadata.class`
 * (pipeline/rules/*.yml); the table below holds the same for the policy (a
 * test checks they agree). Bandit and GuardDog rules are classed here.
 */
import type { IFinding } from '../types';

export type RuleClass = 'vulnerability' | 'capability' | 'malware' | 'lint';

export interface IRuleClass {
  ruleClass: RuleClass;
  cwe?: string;
}

const v = (cwe: string): IRuleClass => ({ ruleClass: 'vulnerability', cwe });
const c: IRuleClass = { ruleClass: 'capability' };
const m: IRuleClass = { ruleClass: 'malware' };
const l: IRuleClass = { ruleClass: 'lint' };

/** RepoGuard's semgrep rules (pipeline/rules/*.yml, `metadata.class`). */
export const OWN_RULE_CLASSES: Record<string, IRuleClass> = {
  'repoguard.python.eval-exec': c,
  'repoguard.python.subprocess-shell': v('CWE-78'),
  'repoguard.python.pickle-load': c,
  'repoguard.python.deserialize-input': v('CWE-502'),
  'repoguard.python.eval-input': v('CWE-95'),
  'repoguard.python.sql-input': v('CWE-89'),
  'repoguard.python.eval-parameter': v('CWE-95'),
  'repoguard.python.eval-environment': v('CWE-95'),
  'repoguard.python.yaml-unsafe-load': v('CWE-502'),
  'repoguard.python.obfuscated-exec': m,
  'repoguard.python.setup-network': m,
  'repoguard.python.install-time-pip': m,
  'repoguard.python.download-and-run': m,
  'repoguard.python.char-arithmetic': m,
  'repoguard.python.builtins-getattr': m,
  'repoguard.python.non-ascii-identifiers': m,
  'repoguard.python.exfiltration-channel': m,
  'repoguard.js.eval': c,
  'repoguard.js.child-process-exec': v('CWE-78'),
  'repoguard.js.obfuscated-exec': m,
  'repoguard.js.env-exfiltration': m,
  'repoguard.js.tls-verify-off': v('CWE-295'),
  'repoguard.js.download-and-run': m,
  'repoguard.js.exfiltration-channel': m,
  'repoguard.typosquat-name': m
};

/** Bandit test ids (bandit 1.9.4); a CWE-mapped sink is a vulnerability. */
export const BANDIT_CLASSES: Record<string, IRuleClass> = {
  B101: l, // assert
  B102: c, // exec
  B103: l, // chmod
  B104: l, // bind all interfaces
  B105: l,
  B106: l,
  B107: l, // hard-coded password strings (the secret gate looks for real ones)
  B108: l, // hard-coded tmp path
  B110: l,
  B112: l, // try/except/pass|continue
  B113: l, // request without timeout
  B201: v('CWE-94'), // flask debug=True
  B202: v('CWE-22'), // tarfile.extractall without members check
  B301: c, // pickle (the ecosystem's own format; input-fed loads: repoguard.python.deserialize-input)
  B302: c, // marshal
  B303: l, // md5/sha1
  B304: v('CWE-327'), // insecure cipher
  B305: v('CWE-327'), // insecure cipher mode
  B306: v('CWE-377'), // mktemp
  B307: c, // eval
  // Marking a string as safe HTML (Django mark_safe, markupsafe.Markup): an XSS sink only
  // for untrusted input, and what template engines do with their own output; weighed by phase.
  B308: c, // mark_safe
  B310: c, // urlopen
  B311: l, // random
  B312: c, // telnetlib
  B313: l,
  B314: l,
  B315: l,
  B316: l,
  B317: l,
  B318: l,
  B319: l,
  B320: l, // XML parsers (defusedxml advice)
  B321: c, // ftplib
  B323: v('CWE-295'), // unverified SSL context
  B324: l, // weak hash
  // Imports of telnetlib, ftplib, pickle, subprocess…: an import does nothing by itself.
  B401: l,
  B402: l,
  B403: l,
  B404: l,
  B405: l,
  B406: l,
  B407: l,
  B408: l,
  B409: l,
  B410: l,
  B411: l,
  B412: v('CWE-284'), // httpoxy
  B413: l, // pycrypto
  B415: l,
  B501: v('CWE-295'), // requests verify=False
  B502: v('CWE-327'),
  B503: v('CWE-327'),
  B504: v('CWE-327'), // SSL/TLS protocol versions
  B505: v('CWE-326'), // weak key
  B506: v('CWE-20'), // yaml.load
  B507: v('CWE-295'), // ssh host key not verified
  B508: v('CWE-319'),
  B509: v('CWE-319'), // snmp
  B601: c, // paramiko exec_command
  B602: v('CWE-78'), // shell=True (bandit: HIGH when the command is built, LOW when literal)
  B603: c,
  B604: c,
  B605: v('CWE-78'), // os.system / popen (as B602)
  B606: c,
  B607: l, // partial executable path
  B608: v('CWE-89'), // SQL built from strings
  B609: v('CWE-155'), // wildcard injection
  B610: v('CWE-89'),
  B611: v('CWE-89'), // django extra / RawSQL
  B612: v('CWE-94'), // logging.config.listen
  B613: c, // bidirectional control characters
  B614: c, // torch.load
  B615: l, // huggingface download without revision
  B701: v('CWE-94'), // jinja2 autoescape=False
  B702: v('CWE-80'), // mako
  B703: c,
  B704: c,
  'bandit-parse-error': l
};

/** GuardDog threat rules that describe a capability (noisy on benign code), not intent. */
const GUARDDOG_CAPABILITY_THREATS = new Set([
  'threat-runtime-obfuscation-unicode',
  'threat-runtime-obfuscation-general',
  'threat-runtime-obfuscation-dynamic-eval',
  'threat-runtime-obfuscation-js-mangling',
  'threat-runtime-obfuscation-log-suppress',
  'threat-runtime-obfuscation',
  'threat-runtime-obfuscation-api',
  'threat-runtime-environment-read',
  'threat-runtime-system-info',
  'threat-runtime-enumeration',
  'threat-runtime-dynamic-loader',
  'threat-process-sysinfo',
  'threat-process-hooks',
  'threat-npm-preinstall-script',
  'threat-setup-suspicious-imports',
  'threat-filesystem-destruction',
  // A credential or config path in a string (~/.aws/credentials): what SDKs read when
  // asked; a read at install or import is the dynamic scanner's observation.
  'threat-filesystem-read'
]);

/**
 * GuardDog heuristics that match text (non-ASCII letters in strings, data
 * hidden in literals, a credential file's path), not a call that does
 * something: evidence where code runs at install, low anywhere else (lexers
 * and locale tables are full of them).
 */
export const TEXT_HEURISTICS = new Set([
  'threat-runtime-obfuscation-unicode',
  'threat-runtime-obfuscation-steganography',
  'threat-filesystem-read'
]);

/** Files where a secret is an example or a CI upload token: docs, CI configs, source maps. */
const DOC_OR_CI =
  /(^|\/)(readme[^/]*|pkg-info|changelog[^/]*|changes[^/]*|history[^/]*|[^/]*\.(md|rst|txt|adoc|map)|\.travis\.yml|\.gitlab-ci\.yml|appveyor\.yml|azure-pipelines\.yml|\.drone\.yml|jenkinsfile|tox\.ini|codecov\.yml|\.codecov\.yml)$|(^|\/)(docs?|\.github|\.circleci|\.gitlab|\.azure-pipelines|\.buildkite)\//i;

/** `exec(open(...).read())` of a file the package ships (its version file, say): runs its own code. */
const OWN_FILE_EXEC =
  /\b(exec|eval)\s*\(\s*(compile\s*\(\s*)?((open\s*\([^)]*\)|\w+)\.read\(\)|\(?[\w\s./"'()-]*?\)?\.read_(text|bytes)\()/;
const EXEC_RULES = new Set(['B102', 'B307', 'repoguard.python.eval-exec']);
/** exec/eval of a string literal: the code is in the source, in plain sight (six's exec_("def reraise…")). */
const LITERAL_EXEC = /\b(exec_?|eval)\s*\(\s*[rbuRBU]?("|')/;
// Words, not substrings: a file named websockets/version.py is not a socket.
const REMOTE =
  /https?:|urlopen|\brequests?\b|\bsocket\b|\bdecode\b|\bb64|base64|\bzlib\b|\bmarshal\b|\bcodecs\b/i;

/** True when a secret finding sits in docs, CI configuration or a source map (examples, upload tokens). */
export function docOrCiFile(path: string): boolean {
  return DOC_OR_CI.test(path);
}

/** The class of a finding's rule (and the CWE of a vulnerability sink). */
export function classOf(f: IFinding & { snippet?: string }): IRuleClass {
  if (EXEC_RULES.has(f.ruleId) && f.snippet) {
    if (OWN_FILE_EXEC.test(f.snippet) && !REMOTE.test(f.snippet)) return l;
    if (LITERAL_EXEC.test(f.snippet)) return l;
  }
  const own = OWN_RULE_CLASSES[f.ruleId];
  if (own) return own;
  if (f.scanner === 'bandit') return BANDIT_CLASSES[f.ruleId] ?? c;
  if (f.scanner === 'guarddog') {
    if (f.ruleId.startsWith('capability-')) return c;
    if (GUARDDOG_CAPABILITY_THREATS.has(f.ruleId)) return c;
    if (f.ruleId.startsWith('threat-')) return m;
    return c; // metadata rules
  }
  if (f.scanner === 'dynamic' || f.scanner === 'sandbox') return m;
  if (f.scanner === 'models') return f.severity === 'info' || f.severity === 'low' ? l : m;
  if (f.category === 'malicious' || f.category === 'dynamic') return m;
  if (f.category === 'vulnerability') return v('');
  return c;
}
