"""The report's insights, found by folder: each insights/<id>/ with a query.sql and an
__init__.py defining INSIGHT is one insight. Report order is each insight's `order`.

More insight folders can come from outside the package: FLOWDIGEST_INSIGHTS_PATH (folders
separated by os.pathsep, each an insight folder or a folder of them) is read at import,
and register_folder() adds one at run time.
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import sys
from pathlib import Path

from flowdigest.insights.base import Context, Insight

PATH_VARIABLE = "FLOWDIGEST_INSIGHTS_PATH"
_HERE = Path(__file__).parent
_EXTERNAL_PACKAGE = "flowdigest_external_insights"

# id -> insight, in report order; updated in place, so `from ... import INSIGHTS` stays current
INSIGHTS: dict[str, Insight] = {}
PATH_ERRORS: list[str] = []  # folders of FLOWDIGEST_INSIGHTS_PATH that failed to load


class BadInsightFolder(ValueError):
    pass


def is_insight_folder(folder: Path) -> bool:
    return (folder / "query.sql").is_file() and (folder / "__init__.py").is_file()


def _loaded(module: object, folder: Path) -> Insight:
    insight = getattr(module, "INSIGHT", None)
    if not isinstance(insight, Insight):
        raise BadInsightFolder(f"{folder / '__init__.py'}: defines no INSIGHT = Insight(...)")
    if insight.id != folder.name:
        raise BadInsightFolder(f"{folder / '__init__.py'}: INSIGHT.id is {insight.id!r}, "
                               f"but its folder is {folder.name!r} (they must be the same)")
    return dataclasses.replace(insight, folder=folder)


def _import_external(folder: Path) -> object:
    name = f"{_EXTERNAL_PACKAGE}.{folder.name}"
    spec = importlib.util.spec_from_file_location(name, folder / "__init__.py",
                                                  submodule_search_locations=[str(folder)])
    if spec is None or spec.loader is None:
        raise BadInsightFolder(f"{folder}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # the folder's own code: say where, in one line
        del sys.modules[name]
        raise BadInsightFolder(f"{folder / '__init__.py'}: {type(e).__name__}: {e}") from e
    return module


def _add(insight: Insight) -> None:
    INSIGHTS[insight.id] = insight
    ordered = sorted(INSIGHTS.values(), key=lambda i: (i.order, i.id))
    INSIGHTS.clear()
    INSIGHTS.update((i.id, i) for i in ordered)


def register_folder(path: Path | str) -> list[str]:
    """Add the insight in `path`, or every insight folder directly under it; their ids."""
    folder = Path(path).resolve()
    folders = [folder] if is_insight_folder(folder) else sorted(
        f for f in (folder.iterdir() if folder.is_dir() else []) if is_insight_folder(f))
    if not folders:
        raise BadInsightFolder(f"{folder}: no insight folder (query.sql and __init__.py) there")
    for f in folders:
        _add(_loaded(_import_external(f), f))
    return [f.name for f in folders]


def _discover() -> None:
    for folder in sorted(_HERE.iterdir()):
        if is_insight_folder(folder):
            _add(_loaded(importlib.import_module(f"{__name__}.{folder.name}"), folder))
    for extra in filter(None, os.environ.get(PATH_VARIABLE, "").split(os.pathsep)):
        try:
            register_folder(extra)
        except BadInsightFolder as e:  # kept for the CLI / pipeline to report in one line
            PATH_ERRORS.append(f"{PATH_VARIABLE}: {e}")


_discover()

__all__ = ["INSIGHTS", "PATH_ERRORS", "PATH_VARIABLE", "BadInsightFolder", "Context", "Insight", "register_folder"]
