"""Which QueryEngine the query function uses: Athena in AWS, DuckDB for `sam local invoke`.

Locally every invoke is a fresh container whose only writable place is /tmp, so the
DuckDB flavour can generate its sample days on demand (FLOWDIGEST_SAMPLE_DAYS, seeded:
every container writes the same data) and rebuild the rollups an insight reads when an
earlier invoke's are gone. In AWS none of that applies: prepare builds the rollups once
in S3 and the insights read them there.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from flowdigest import pipeline
from flowdigest.aws.settings import QuerySettings
from flowdigest.engine import QueryEngine
from flowdigest.models import DayPlan

SAMPLE_SEED = 7


def make_engine(settings: QuerySettings) -> QueryEngine:
    if settings.engine == "athena":
        from flowdigest.aws.athena import AthenaEngine

        return AthenaEngine(settings)
    from flowdigest.engine.duckdb_engine import DuckDBEngine

    # The configured format reads text files that lack a header line (AWS's have one).
    log_format = " ".join(settings.source_fields) if settings.source_format == "plain-text" else None
    engine: QueryEngine = DuckDBEngine(Path(settings.source), settings.local_dir / "rollup", log_format=log_format)
    return engine


def ensure_sample(engine: Any, settings: QuerySettings, day: dt.date) -> None:
    """Generate the sample days ending `day` when asked to and the day has no files yet."""
    if settings.engine != "duckdb" or not settings.sample_days:
        return
    if Path(settings.source).is_dir() and engine.open_day(day).files:
        return
    from flowdigest import sample

    sample.generate_days(Path(settings.source), day, days=settings.sample_days,
                         records=settings.sample_records, seed=SAMPLE_SEED)
    engine.forget_listings()  # list the days again, now with the generated files


def ensure_rollups(engine: Any, settings: QuerySettings, plan: DayPlan) -> None:
    """Locally, build the rollups the plan reads if this container has not got them (in
    AWS, prepare stored them in S3). Any stored rollup is kept: prepare built it."""
    if settings.engine != "duckdb":
        return
    ensure_sample(engine, settings, plan.report_date)
    pipeline.build_rollups(engine, plan, trust_stored=True)
