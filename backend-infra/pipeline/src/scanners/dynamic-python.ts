/**
 * The Python half of the dynamic scanner: the small harness that runs inside
 * the install sandbox, written next to the sandbox's scratch folder at scan
 * time (it is sandbox-side tooling, not part of any Python package).
 *
 * - `sitecustomize.py` (on the sandbox's PYTHONPATH, so every interpreter the
 *   install starts loads it): starts coverage.py when `COVERAGE_PROCESS_START`
 *   is set (the build backend runs in pip's subprocess, setup.py in that one),
 *   saves coverage before `os._exit`, and with `REPOGUARD_EMULATE=win32|darwin`
 *   shows the package's own code (files under `REPOGUARD_EMULATE_PATHS`, and
 *   `exec`ed strings) `sys.platform`, `os.name`, `platform.system()` & co of
 *   that platform; pip, the build backend and the standard library keep the
 *   real values, so they still work.
 * - `driver.py`: per platform, `pip wheel --no-deps --no-build-isolation
 *   --no-index` of the source copy (the install phase), `pip install` of that
 *   wheel into a target, then an import of every module the wheel installed,
 *   each in a child (`importer.py`) with a time limit per module, restarted
 *   past a module that kills the process (the import phase). Before building
 *   it checks the build requirements (`[build-system] requires`, else
 *   setuptools) against the sandbox's toolchain: a missing one ends the run
 *   as `sandbox-missing`. It writes `result.json`: steps, coverage per phase
 *   and platform (measured file → executed lines, with each file's sha256),
 *   installed files, import failures, stubbed modules.
 * - `importer.py`: imports modules; a missing third-party module is replaced
 *   by a permissive stub (the package's dependencies are not installed: each
 *   is a request of its own), so module top levels run as far as they would
 *   with the dependencies present.
 *
 * Phase markers: before each step the driver opens `/tmp/rg-mark/<phase>-<platform>`
 * (which does not exist); the trace reader attributes what follows to it.
 */

/** Where the harness and the work folder are inside the sandbox. */
export const PY_SITE = '/tmp/rg-site';
export const WORK = '/tmp/rg';
export const MARK_DIR = '/tmp/rg-mark';

export const COVERAGERC = `[run]
parallel = True
source =
    /tmp/pkg
    ${WORK}/linux/out
    ${WORK}/win32/out
    ${WORK}/darwin/out
disable_warnings =
    no-data-collected
    module-not-measured
    module-not-imported
    couldnt-parse
    no-ctracer
`;

export const SITECUSTOMIZE = String.raw`
import builtins
import os
import sys
import types

# setuptools runs setup.py as exec(<text>): compile it with its file name, so
# coverage (and the platform emulation) see /tmp/pkg/setup.py, not <string>.
_real_exec = builtins.exec


def _exec(source, globals=None, locals=None, *args, **kwargs):
    # Called as exec(code) the real exec runs in its caller's namespace; from
    # here it would run in this function's (setup.py's exec of its version
    # file would define __version__ here, and setup.py fail with NameError).
    if globals is None:
        caller = sys._getframe(1)
        globals = caller.f_globals
        if locals is None:
            locals = caller.f_locals
    if (
        isinstance(source, str)
        and isinstance(globals, dict)
        and isinstance(globals.get("__file__"), str)
        and globals["__file__"].endswith(".py")
        and sys._getframe(1).f_code.co_filename.endswith("build_meta.py")
    ):
        source = compile(source, globals["__file__"], "exec")
    return _real_exec(source, globals, locals, *args, **kwargs)


builtins.exec = _exec

_cov = None
if os.environ.get("COVERAGE_PROCESS_START"):
    try:
        import coverage

        _cov = coverage.process_startup()
    except Exception:
        _cov = None
    if _cov is not None:
        _real_exit = os._exit

        def _exit(code):
            try:
                _cov.stop()
                _cov.save()
            finally:
                _real_exit(code)

        os._exit = _exit

_P = os.environ.get("REPOGUARD_EMULATE")
_ROOTS = tuple(r for r in os.environ.get("REPOGUARD_EMULATE_PATHS", "").split(":") if r)
_FAKE = {
    "win32": ("win32", "nt", "Windows", "10", "10.0.19045", "AMD64"),
    "darwin": ("darwin", "posix", "Darwin", "23.4.0", "Darwin Kernel Version 23.4.0", "arm64"),
}


def _pkg(depth):
    try:
        f = sys._getframe(depth).f_code.co_filename
    except ValueError:
        return False
    return f.startswith(_ROOTS) or f in ("<string>", "<stdin>", "<unknown>")


if _P in _FAKE:
    import platform

    _plat, _name, _system, _release, _version, _machine = _FAKE[_P]
    _real_plat, _real_name = sys.platform, os.name

    class _Sys(types.ModuleType):
        @property
        def platform(self):
            return _plat if _pkg(2) else _real_plat

    class _Os(types.ModuleType):
        @property
        def name(self):
            return _name if _pkg(2) else _real_name

    try:
        del sys.platform
        sys.__class__ = _Sys
        os.__dict__.pop("name", None)
        os.__class__ = _Os
    except Exception:
        pass

    def _wrap(real, fake):
        def call(*a, **k):
            return fake(*a, **k) if _pkg(2) else real(*a, **k)

        return call

    _uname = platform.uname_result(_system, "sandbox", _release, _version, _machine)
    platform.system = _wrap(platform.system, lambda: _system)
    platform.release = _wrap(platform.release, lambda: _release)
    platform.version = _wrap(platform.version, lambda: _version)
    platform.machine = _wrap(platform.machine, lambda: _machine)
    platform.uname = _wrap(platform.uname, lambda: _uname)
    platform.platform = _wrap(
        platform.platform,
        lambda *a, **k: "Windows-10-10.0.19045-SP0" if _P == "win32" else "macOS-14.4-arm64-arm-64bit",
    )
    if _P == "win32":
        platform.win32_ver = _wrap(platform.win32_ver, lambda *a: ("10", "10.0.19045", "SP0", "Multiprocessor Free"))
        sys.getwindowsversion = lambda: types.SimpleNamespace(major=10, minor=0, build=19045, platform=2, service_pack="")
    else:
        platform.mac_ver = _wrap(platform.mac_ver, lambda *a: ("14.4", ("", "", ""), "arm64"))
`;

export const IMPORTER = String.raw`
import importlib
import importlib.abc
import importlib.util
import json
import os
import signal
import site
import sys
import time
import types

target, listfile, progress, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
OWN = set(json.loads(os.environ.get("REPOGUARD_OWN_TOP", "[]")))
STUBBED = set()


class _StubMeta(type):
    def __getattr__(cls, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _stub(cls.__name__ + "." + name)

    def __call__(cls, *a, **k):
        if "_rg_stub" not in cls.__dict__:
            return type.__call__(cls, *a, **k)
        if len(a) == 1 and not k and callable(a[0]):
            return a[0]
        return _stub(cls.__name__ + "()")

    def __iter__(cls):
        return iter(())

    def __bool__(cls):
        return False

    def __len__(cls):
        return 0

    def __contains__(cls, item):
        return False

    def __getitem__(cls, key):
        return _stub(cls.__name__ + "[]")

    def __or__(cls, other):
        return cls

    __ror__ = __or__

    def __lt__(cls, other):
        return False

    __le__ = __gt__ = __ge__ = __lt__


def _stub(name):
    return _StubMeta(name, (), {"_rg_stub": True})


class _StubModule(types.ModuleType):
    def __getattr__(self, name):
        if name == "__version__":
            return "0"
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return _stub(self.__name__ + "." + name)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        top = name.split(".")[0]
        if top in OWN:
            return None
        STUBBED.add(top)
        return importlib.util.spec_from_loader(name, self, is_package=True)

    def create_module(self, spec):
        m = _StubModule(spec.name)
        m.__path__ = []
        return m

    def exec_module(self, module):
        pass


def _alarm(*_):
    raise TimeoutError("import took longer than %ds" % limit)


def note(entry):
    with open(progress, "a") as f:
        f.write(json.dumps(entry) + "\n")


sys.path.insert(0, target)
sys.meta_path.append(_Finder())
signal.signal(signal.SIGALRM, _alarm)
done = set()
if os.path.exists(progress):
    with open(progress) as f:
        for line in f:
            try:
                done.add(json.loads(line)["module"])
            except Exception:
                pass
with open(listfile) as f:
    modules = json.load(f)
if ".pth" not in done:
    note({"module": ".pth", "start": True})
    try:
        site.addsitedir(target)
        note({"module": ".pth", "error": None})
    except BaseException as e:
        note({"module": ".pth", "error": ("%s: %s" % (type(e).__name__, e))[:300]})
for mod in modules:
    if mod in done:
        continue
    note({"module": mod, "start": True})
    signal.alarm(limit)
    err = None
    try:
        importlib.import_module(mod)
    except BaseException as e:
        err = ("%s: %s" % (type(e).__name__, e))[:300]
    finally:
        signal.alarm(0)
    note({"module": mod, "error": err})
note({"module": "", "stubbed": sorted(STUBBED), "done": True})
time.sleep(0.3)
try:
    import coverage

    cov = coverage.Coverage.current()
    if cov is not None:
        cov.stop()
        cov.save()
except Exception:
    pass
sys.stdout.flush()
os._exit(0)
`;

export const DRIVER = String.raw`
import glob
import hashlib
import json
import os
import subprocess
import sys
import time

PKG = "/tmp/pkg"
SITE = os.path.dirname(os.path.abspath(__file__))
WORK = "${WORK}"
PLATFORMS = sys.argv[1].split(",")
DEADLINE = time.monotonic() + float(sys.argv[2])
MODULE_LIMIT = int(sys.argv[3])
result = {"status": "ok", "steps": [], "requires": [], "missing": [], "mismatched": [],
          "installed": {}, "coverage": {}, "imports": {}, "stubbed": []}


def save():
    with open(WORK + "/result.json", "w") as f:
        json.dump(result, f)


def mark(name):
    try:
        open("${MARK_DIR}/" + name).close()
    except OSError:
        pass


def left():
    return DEADLINE - time.monotonic()


def tail(text, n=40):
    return "\n".join(text.strip().splitlines()[-n:])[-6000:]


def run(args, env, timeout, cwd=PKG):
    try:
        p = subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, errors="replace",
                           timeout=max(1.0, timeout))
        return p.returncode, tail(p.stdout + "\n" + p.stderr), False
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"") + (e.stderr or b"")
        return None, tail(out.decode("utf-8", "replace") if isinstance(out, bytes) else out), True


def build_requirements():
    requires, backend = None, None
    path = os.path.join(PKG, "pyproject.toml")
    if os.path.exists(path):
        import tomllib

        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except Exception as e:
            result["status"] = "own-failure"
            result["steps"].append({"platform": "linux", "phase": "install", "exit": 1,
                                    "tail": "pyproject.toml is not valid TOML: %s" % e})
            return None
        bs = data.get("build-system") or {}
        requires, backend = bs.get("requires"), bs.get("build-backend")
    if requires is None:
        requires = ["setuptools>=40.8.0"]
    result["backend"] = backend or "setuptools.build_meta:__legacy__"
    return requires


def check(requires):
    from importlib import metadata

    from packaging.requirements import Requirement

    for text in requires:
        result["requires"].append(text)
        try:
            req = Requirement(text)
        except Exception:
            result["mismatched"].append("%s (not a valid requirement)" % text)
            continue
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            result["missing"].append(text)
            continue
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            result["mismatched"].append("%s (the sandbox has %s)" % (text, version))


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def modules_of(out):
    tops, mods, files = [], [], []
    for root, dirs, names in os.walk(out):
        rel_root = os.path.relpath(root, out)
        if rel_root == ".":
            dirs[:] = [d for d in dirs if not d.endswith((".dist-info", ".data")) and d not in ("bin", "__pycache__")]
        else:
            dirs[:] = [d for d in dirs if d != "__pycache__"]
        for n in names:
            rel = os.path.normpath(os.path.join(rel_root, n))
            if n.endswith(".py"):
                files.append({"path": rel, "sha256": sha(os.path.join(root, n))})
                parts = rel[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                if not parts or parts[-1] == "__main__" or not all(p.isidentifier() for p in parts):
                    continue
                mods.append(".".join(parts))
                if parts[0] not in tops:
                    tops.append(parts[0])
            elif n.endswith((".so", ".pyd")) and rel_root == ".":
                tops.append(n.split(".")[0])
    for d in os.listdir(out):
        if os.path.isdir(os.path.join(out, d)) and d.isidentifier() and d not in tops and d != "bin":
            tops.append(d)
    return tops, sorted(set(mods), key=lambda m: (m.count("."), m)), files


def import_all(plat, out, env):
    tops, mods, files = modules_of(out)
    result["installed"][plat] = files
    listfile = "%s/%s/modules.json" % (WORK, plat)
    progress = "%s/%s/progress.jsonl" % (WORK, plat)
    with open(listfile, "w") as f:
        json.dump(mods, f)
    env = dict(env, REPOGUARD_OWN_TOP=json.dumps(tops))
    failures, stubbed, finished = [], [], False
    for _ in range(20):
        if left() < 2:
            break
        code, text, timed_out = run([sys.executable, SITE + "/importer.py", out, listfile, progress,
                                     str(MODULE_LIMIT)], env, left() - 1, cwd=WORK)
        entries = []
        with open(progress) as f:
            for line in f:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    pass
        if entries and entries[-1].get("done"):
            finished = True
            break
        # The process died (or hung) in the module it had started last: note it, go on past it.
        started = [e["module"] for e in entries if e.get("start")]
        ended = {e["module"] for e in entries if "error" in e}
        if not started or started[-1] in ended:
            break
        why = "timed out" if timed_out else "the interpreter exited (%s) while importing it" % code
        with open(progress, "a") as f:
            f.write(json.dumps({"module": started[-1], "error": why}) + "\n")
    entries = []
    with open(progress) as f:
        for line in f:
            try:
                entries.append(json.loads(line))
            except ValueError:
                pass
    for e in entries:
        if e.get("error"):
            failures.append({"module": e["module"], "error": e["error"]})
        if e.get("stubbed"):
            stubbed.extend(e["stubbed"])
    result["imports"][plat] = {"modules": len(mods), "failed": failures, "complete": finished}
    result["stubbed"] = sorted(set(result["stubbed"]) | set(stubbed))


def read_coverage():
    import coverage

    for d in sorted(glob.glob(WORK + "/cov/*")):
        step = os.path.basename(d)
        try:
            cov = coverage.Coverage(data_file=d + "/cov", config_file=False)
            cov.combine(data_paths=[d], keep=True)
            data = cov.get_data()
        except Exception as e:
            result.setdefault("coverageErrors", []).append("%s: %s" % (step, e))
            continue
        files = {}
        for f in data.measured_files():
            lines = sorted(data.lines(f) or [])
            if not lines:
                continue
            try:
                digest = sha(f)
            except OSError:
                digest = ""
            files[f] = {"lines": lines, "sha256": digest}
        result["coverage"][step] = files


def main():
    # Build requirements fetched for this package (dynamic-buildreqs.ts), after the harness's own folder.
    extra = os.environ.get("REPOGUARD_BUILD_PATH")
    if extra:
        sys.path.insert(1, extra)
    requires = build_requirements()
    if requires is None:
        save()
        return
    check(requires)
    if result["missing"]:
        result["status"] = "sandbox-missing"
        save()
        return
    base = dict(os.environ, PYTHONPATH=SITE + (":" + extra if extra else ""),
                COVERAGE_PROCESS_START=SITE + "/coveragerc")
    for plat in PLATFORMS:
        if left() < 5 and plat != "linux":
            result.setdefault("skipped", []).append(plat)
            continue
        root = "%s/%s" % (WORK, plat)
        out = root + "/out"
        os.makedirs(root + "/wheel", exist_ok=True)
        os.makedirs(out, exist_ok=True)
        env = dict(base)
        if plat != "linux":
            env.update(REPOGUARD_EMULATE=plat, REPOGUARD_EMULATE_PATHS=PKG + ":" + out)
        mark("install-" + plat)
        t0 = time.monotonic()
        env_install = dict(env, COVERAGE_FILE="%s/cov/install-%s/cov" % (WORK, plat))
        os.makedirs(WORK + "/cov/install-" + plat, exist_ok=True)
        code, text, timed_out = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                                     "--no-index", "--no-cache-dir", "--disable-pip-version-check",
                                     "-w", root + "/wheel", PKG], env_install, left() - 2)
        step = {"platform": plat, "phase": "install", "exit": code, "timedOut": timed_out, "tail": text,
                "seconds": round(time.monotonic() - t0, 1)}
        result["steps"].append(step)
        wheels = glob.glob(root + "/wheel/*.whl")
        if code != 0 or not wheels:
            if plat == "linux":
                result["status"] = "timeout" if timed_out else "build-failed"
                break
            continue
        code, text, timed_out = run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index",
                                     "--no-compile", "--disable-pip-version-check", "--target", out,
                                     wheels[0]], env_install, left() - 2, cwd=root)
        step["installExit"] = code
        if code != 0:
            step["tail"] = text
            if plat == "linux":
                result["status"] = "timeout" if timed_out else "build-failed"
                break
            continue
        mark("import-" + plat)
        os.makedirs(WORK + "/cov/import-" + plat, exist_ok=True)
        t0 = time.monotonic()
        import_all(plat, out, dict(env, COVERAGE_FILE="%s/cov/import-%s/cov" % (WORK, plat)))
        step["importSeconds"] = round(time.monotonic() - t0, 1)
    mark("report-linux")
    read_coverage()
    save()


main()
`;
