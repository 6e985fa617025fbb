"""A Lambda-like sandbox for the functions `sam build` wrote (this project's `sam local invoke`).

Each invocation is a cold start in a fresh process inside its own mount namespace
(`unshare -m`, as root), set up the way Lambda's execution environment looks:
  - the root file system read-only (a per-mount read-only bind: the host is untouched);
  - /var/task: the function's build folder, read-only;
  - /opt: the function's layers, in the template's order, as one read-only overlay in
    which a later layer's files hide an earlier one's (Lambda extracts them in order,
    a later layer overwriting);
  - /tmp: a fresh tmpfs of the function's EphemeralStorage size;
  - /var/lang: CPython 3.12, /var/runtime: the runtime's boto3 (Lambda ships both);
  - an unprivileged user (nobody), HOME unset, and Lambda's environment variables.
The handler is imported and called by lambda_bootstrap.py.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BOOTSTRAP = HERE / "lambda_bootstrap.py"
PY_VERSION = "3.12"
# sys.path order of Lambda's python3.12 runtime (task, layers, then the runtime's own packages).
PYTHONPATH = ":".join(["/var/task", f"/opt/python/lib/python{PY_VERSION}/site-packages", "/opt/python",
                       "/var/runtime"])
NOBODY = 65534


@dataclass(frozen=True)
class Invocation:
    result: Any
    logs: str
    ok: bool


@dataclass(frozen=True)
class Sandbox:
    python_home: Path  # a CPython 3.12 installation (bin/python3.12, lib/)
    runtime_dir: Path  # the runtime's own packages (boto3), mounted at /var/runtime
    binds: Mapping[str, Path]  # extra read-only folders: mount point -> source

    def invoke(self, task_dir: Path, layers: Sequence[Path], env: Mapping[str, str], event: Any,
               tmp_mb: int = 512, timeout_s: float = 300) -> Invocation:
        """One cold start: the handler in task_dir, layers in the template's order."""
        script = self._script(task_dir, layers, env, tmp_mb)
        proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-ec", script],
                              input=json.dumps(event), capture_output=True, text=True, timeout=timeout_s + 30)
        try:
            result = json.loads(proc.stdout) if proc.stdout.strip() else None
        except json.JSONDecodeError:
            result = None
        return Invocation(result=result, logs=proc.stderr, ok=proc.returncode == 0 and result is not None)

    def _script(self, task_dir: Path, layers: Sequence[Path], env: Mapping[str, str], tmp_mb: int) -> str:
        q = shlex.quote
        binds = {"/var/task": task_dir, "/var/lang": self.python_home, "/var/runtime": self.runtime_dir,
                 **self.binds}
        lines = ["mount -t tmpfs -o size=4m,mode=755 sandbox-var /var"]
        for target, source in binds.items():
            lines += [f"mkdir -p {q(target)}", f"mount --bind {q(str(source))} {q(target)}",
                      f"mount -o remount,bind,ro {q(target)}"]
        lines += [f"cp {q(str(BOOTSTRAP))} /var/bootstrap.py", "mount -o remount,ro /var"]
        # overlayfs lists the uppermost layer first; with no upperdir the mount is read-only.
        lowers = ":".join(str(p) for p in reversed(layers))
        lines.append(f"mount -t overlay sandbox-opt -o lowerdir={q(lowers)} /opt" if len(layers) > 1
                     else f"mount --bind {q(str(layers[0]))} /opt && mount -o remount,bind,ro /opt")
        lines += [f"mount -t tmpfs -o size={tmp_mb}m,mode=1777 sandbox-tmp /tmp",
                  "mount -o remount,bind,ro /"]
        assignments = " ".join(f"{k}={q(v)}" for k, v in env.items())
        lines.append(f"exec setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups "
                     f"env -i {assignments} /var/lang/bin/python{PY_VERSION} /var/bootstrap.py")
        return "\n".join(lines)


def lambda_env(function: str, memory_mb: int, log_level: str, region: str,
               function_env: Mapping[str, str]) -> dict[str, str]:
    """The variables Lambda sets for a python3.12 function, then the function's own."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "sandbox",
        "AWS_LAMBDA_LOG_LEVEL": log_level,
        "AWS_LAMBDA_LOG_FORMAT": "JSON",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{PY_VERSION}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "_HANDLER": "app.lambda_handler",
        "PYTHONPATH": PYTHONPATH,
        "LD_LIBRARY_PATH": ":".join(["/var/lang/lib", "/lib64", "/usr/lib64", "/var/runtime", "/var/runtime/lib",
                                     "/var/task", "/var/task/lib", "/opt/lib"]),
        "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        **function_env,
    }


def find_python312() -> Path | None:
    """The home of a CPython 3.12 (pyenv keeps it off PATH), or None."""
    candidates = []
    if os.environ.get("PY312"):
        candidates.append(Path(os.environ["PY312"]))
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
        if root:
            candidates += sorted(Path(root, "versions").glob(f"{PY_VERSION}.*/bin/python{PY_VERSION}"), reverse=True)
    found = shutil.which(f"python{PY_VERSION}")
    if found:
        candidates.append(Path(found))
    for exe in candidates:
        exe = exe.resolve()
        if exe.is_file() and (exe.parent.parent / "lib" / f"python{PY_VERSION}" / "os.py").exists():
            return exe.parent.parent
    return None


def why_no_sandbox() -> str | None:
    """Why the sandbox cannot run on this machine, or None."""
    if os.geteuid() != 0:
        return "the Lambda sandbox needs root (unshare -m, mount)"
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return f"the Lambda sandbox needs {tool} (util-linux)"
    if find_python312() is None:
        return "no CPython 3.12 found (pyenv root/versions/3.12.*, PY312 or python3.12 on PATH)"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"unshare -m fails here: {probe.stderr.strip()}"
    return None
