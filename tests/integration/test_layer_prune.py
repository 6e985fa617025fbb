"""The pruned FlowdigestLayer (layers/flowdigest/Makefile, PRUNE and SQLGLOT_KEEP) still works.

A CPython 3.12 that sees only the built layer imports what the handlers use and transpiles
every query with the layer's own sqlglot (its other dialects removed). The result must equal
what the venv's complete sqlglot makes of the same queries. Skipped without a `sam build`.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest
from lambda_sandbox import find_python312

from flowdigest import queries

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("FLOWDIGEST_SANDBOX_BUILD", REPO / ".aws-sam" / "build")).resolve()  # the probe runs in /
LAYER = BUILD / "FlowdigestLayer" / "python"
DAY = dt.date(2026, 3, 14)

# Runs in the layer-only interpreter: prints {query name: DuckDB SQL}.
# sys.argv[1] stands in for the runtime's /var/runtime (boto3 and its dependencies).
_PROBE = f"""
import datetime as dt, json, sys
sys.path[:0] = [{str(LAYER)!r}, sys.argv[1]]
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters, parser
from aws_lambda_powertools.utilities.typing import LambdaContext
import pydantic, slack_sdk
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from flowdigest.aws import events, observability
from flowdigest.slack import poster
from flowdigest import queries
day = dt.date.fromisoformat({DAY.isoformat()!r})
print(json.dumps({{n: queries.to_duckdb(queries.render(n, day)) for n in queries.query_names()}}))
"""


# What the python3.12 runtime provides (the Makefile's RUNTIME_PROVIDED), pure Python.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six")


def _runtime_dir(tmp_path: Path) -> Path:
    """The sandbox's runtime stand-in when set, else the venv's copies linked into tmp_path."""
    if os.environ.get("FLOWDIGEST_SANDBOX_RUNTIME"):
        return Path(os.environ["FLOWDIGEST_SANDBOX_RUNTIME"]).resolve()  # the probe runs in /
    for name in RUNTIME_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.origin is not None, f"{name} is not installed in the venv"
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (tmp_path / source.name).symlink_to(source)
    return tmp_path


def _stale() -> bool:
    """The build's copy of the domain package differs from the sources (an older sam build)."""
    src = REPO / "layers" / "flowdigest" / "src" / "flowdigest"
    files = [p for p in src.rglob("*") if p.suffix in (".py", ".sql") and not p.name.startswith("test_")
             and "__pycache__" not in p.parts]
    return any(not (LAYER / "flowdigest" / f.relative_to(src)).is_file()
               or (LAYER / "flowdigest" / f.relative_to(src)).read_bytes() != f.read_bytes() for f in files)


def _skip_reason() -> str | None:
    if not LAYER.is_dir():
        return f"no built FlowdigestLayer in {BUILD}: make sam-build"
    if _stale():
        return f"the FlowdigestLayer in {BUILD} is older than the sources: make lambda-sandbox builds and runs it"
    if find_python312() is None:
        return "no CPython 3.12 found (pyenv root/versions/3.12.*, PY312 or python3.12 on PATH)"
    return None


SKIP = _skip_reason()
pytestmark = pytest.mark.skipif(SKIP is not None, reason=SKIP or "")


def test_the_prune_removed_what_it_says() -> None:
    assert not (LAYER / "aws_lambda_powertools" / "event_handler").exists()
    assert not (LAYER / "sqlglot" / "dialects" / "snowflake.py").exists()
    assert (LAYER / "sqlglot" / "dialects" / "trino.py").is_file()


def test_built_layer_imports_and_transpiles_like_full_sqlglot(tmp_path: Path) -> None:
    home = find_python312()
    assert home is not None
    python = home / "bin" / "python3.12"
    # -I: no user site, no PYTHON* variables; cwd / so the repo's sources are not on the path.
    command = [str(python), "-I", "-c", _PROBE, str(_runtime_dir(tmp_path))]
    done = subprocess.run(command, capture_output=True, text=True, cwd="/", timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    from_layer = json.loads(done.stdout)
    expected = {name: queries.to_duckdb(queries.render(name, DAY)) for name in queries.query_names()}
    assert from_layer == expected
