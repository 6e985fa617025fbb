"""One settings model per function, read from the environment and validated at cold start.

The template sets these variables; events/env.local.json sets the local flavour (DuckDB
over a folder or generated sample days, a local store) for `sam local invoke`. A missing
or malformed variable fails the cold start with one line naming it, rather than the
first invocation halfway through.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from flowdigest import fields
from flowdigest.aws.errors import SettingsError
from flowdigest.findings.config import FindingsConfig, parse
from flowdigest.pricing import Prices, resolve

LOCAL_DIR = "/tmp/flowdigest"  # Lambda's only writable place
_ACCOUNT = re.compile(r"\d{12}")
_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")


class _EnvSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        env = os.environ if environ is None else environ
        names = {f.alias or n: n for n, f in cls.model_fields.items()}
        data = {alias: env[alias] for alias in names if env.get(alias, "") != ""}
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{e['loc'][0] if e['loc'] else 'settings'}: {e['msg']}" for e in exc.errors()
            )
            raise SettingsError(f"{cls.__name__} from the environment: {problems}") from None


class StoreSettings(_EnvSettings):
    """Where reports live: a prefix of the reports bucket, or a local folder."""

    reports_bucket: str | None = Field(None, alias="FLOWDIGEST_REPORTS_BUCKET")
    reports_prefix: str = Field("reports/", alias="FLOWDIGEST_REPORTS_PREFIX")
    store_dir: Path | None = Field(None, alias="FLOWDIGEST_STORE_DIR")  # local: wins over the bucket

    @model_validator(mode="after")
    def _one_store(self) -> Self:
        if self.store_dir is None and not self.reports_bucket:
            raise ValueError("set FLOWDIGEST_REPORTS_BUCKET (AWS) or FLOWDIGEST_STORE_DIR (local)")
        return self

    def make_store(self) -> Any:
        from flowdigest.store import LocalStore

        if self.store_dir is not None:
            return LocalStore(self.store_dir)
        from flowdigest.aws.s3store import S3Store

        assert self.reports_bucket is not None
        return S3Store(self.reports_bucket, self.reports_prefix)


class QuerySettings(_EnvSettings):
    engine: Literal["athena", "duckdb"] = Field("athena", alias="FLOWDIGEST_ENGINE")
    # athena: s3://bucket/prefix/ holding AWSLogs/...; duckdb: a folder in the same layout
    source: str = Field(alias="FLOWDIGEST_SOURCE")
    source_account: str | None = Field(None, alias="FLOWDIGEST_SOURCE_ACCOUNT")
    # where the Transit Gateway flow logs are (s3://bucket/prefix/, Parquet, Hive; the
    # tgw_flow_logs table); empty: none are read
    tgw_source: str = Field("", alias="FLOWDIGEST_TGW_SOURCE")
    # An organisation's bucket: the accounts and Regions under AWSLogs/ to read, comma lists
    # (template.yaml's FlowLogAccountIds, FlowLogRegions); default the account above (else
    # the caller's) and AWS_REGION.
    source_accounts: tuple[str, ...] = Field((), alias="FLOWDIGEST_SOURCE_ACCOUNTS")
    source_regions: tuple[str, ...] = Field((), alias="FLOWDIGEST_SOURCE_REGIONS")
    region: str | None = Field(None, alias="AWS_REGION")
    database: str | None = Field(None, alias="FLOWDIGEST_DATABASE")
    workgroup: str | None = Field(None, alias="FLOWDIGEST_WORKGROUP")
    reports_bucket: str | None = Field(None, alias="FLOWDIGEST_REPORTS_BUCKET")
    rollup_prefix: str = Field("rollup/", alias="FLOWDIGEST_ROLLUP_PREFIX")
    insights: list[str] | None = Field(None, alias="FLOWDIGEST_INSIGHTS")
    # athena: how the flow logs are delivered (template.yaml's ExistingFlowLog* parameters).
    # Parquet always has the Hive per-hour layout; plain text has either that or AWS's
    # default daily folders, and its fields are the flow log's format, in order.
    source_format: Literal["parquet", "plain-text"] = Field("parquet", alias="FLOWDIGEST_SOURCE_FORMAT")
    source_layout: Literal["hive-hourly", "dated-daily"] = Field("hive-hourly", alias="FLOWDIGEST_SOURCE_LAYOUT")
    source_fields: tuple[str, ...] = Field(fields.DEFAULT_FORMAT, alias="FLOWDIGEST_SOURCE_FIELDS")
    # duckdb only: where rollups go, and sample days generated on demand (sam local invoke)
    local_dir: Path = Field(Path(LOCAL_DIR), alias="FLOWDIGEST_LOCAL_DIR")
    sample_days: int = Field(0, ge=0, le=31, alias="FLOWDIGEST_SAMPLE_DAYS")
    sample_records: int = Field(20_000, gt=0, alias="FLOWDIGEST_SAMPLE_RECORDS")

    @field_validator("insights", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            ids = [i.strip() for i in value.split(",") if i.strip()]
            return ids or None
        return value

    @field_validator("source_accounts", "source_regions", mode="before")
    @classmethod
    def _comma_list(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        items = tuple(v.strip() for v in value.split(",") if v.strip())
        pattern = _ACCOUNT if info.field_name == "source_accounts" else _REGION
        bad = [v for v in items if not pattern.fullmatch(v)]
        if bad:
            raise ValueError(f"not an {'account ID' if pattern is _ACCOUNT else 'AWS Region'}: {', '.join(bad)}")
        return items

    @field_validator("source_fields", mode="before")
    @classmethod
    def _format(cls, value: Any) -> Any:
        # "version account-id ..." or a LogFormat string "${version} ${account-id} ..."
        return fields.parse_format(value)  # its FormatError is a ValueError: pydantic names the variable

    @model_validator(mode="after")
    def _engine_needs(self) -> Self:
        if self.engine == "athena":
            missing = [alias for alias, value in (
                ("FLOWDIGEST_DATABASE", self.database), ("FLOWDIGEST_WORKGROUP", self.workgroup),
                ("FLOWDIGEST_REPORTS_BUCKET", self.reports_bucket), ("AWS_REGION", self.region),
            ) if not value]
            if missing:
                raise ValueError(f"the athena engine needs {', '.join(missing)}")
            if not self.source.startswith("s3://"):
                raise ValueError("FLOWDIGEST_SOURCE must be s3://bucket/prefix/ for the athena engine")
        if self.source_format == "parquet" and self.source_layout != "hive-hourly":
            raise ValueError("FLOWDIGEST_SOURCE_LAYOUT dated-daily is for plain-text flow logs only "
                             "(Parquet is read in the hive-hourly layout)")
        return self


class RenderSettings(StoreSettings):
    charts: bool = Field(True, alias="FLOWDIGEST_CHARTS")  # false: message without PNGs
    nat_per_gb: float | None = Field(None, ge=0, alias="FLOWDIGEST_PRICE_NAT_PER_GB")
    cross_az_per_gb: float | None = Field(None, ge=0, alias="FLOWDIGEST_PRICE_CROSS_AZ_PER_GB")
    internet_egress_per_gb: float | None = Field(None, ge=0, alias="FLOWDIGEST_PRICE_INTERNET_EGRESS_PER_GB")
    athena_per_tb: float | None = Field(None, ge=0, alias="FLOWDIGEST_PRICE_ATHENA_PER_TB")
    # the price table's region (default us-east-1, today's figures), and a JSON object of any price keys
    prices_region: str | None = Field(None, alias="FLOWDIGEST_PRICES_REGION")
    prices_override: dict[str, Any] | None = Field(None, alias="FLOWDIGEST_PRICES_OVERRIDE")
    # the findings' thresholds and suppressions: a JSON object shaped as the TOML config file
    findings: dict[str, Any] | None = Field(None, alias="FLOWDIGEST_FINDINGS_CONFIG")

    @field_validator("prices_override", "findings", mode="before")
    @classmethod
    def _json(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as e:
                what = "prices" if info.field_name == "prices_override" else "findings settings"
                raise ValueError(f"not a JSON object of {what} ({e.msg})") from None
        return value

    @model_validator(mode="after")
    def _prices_resolve(self) -> Self:
        self.prices  # noqa: B018 -- a missing or bad price fails the cold start, not the first render
        self.findings_config  # noqa: B018 -- and so does a bad findings config
        return self

    @property
    def findings_config(self) -> FindingsConfig:
        return parse(self.findings or {}, "FLOWDIGEST_FINDINGS_CONFIG")

    @property
    def prices(self) -> Prices:
        single = {k: v for k in ("nat_per_gb", "cross_az_per_gb", "internet_egress_per_gb", "athena_per_tb")
                  if (v := getattr(self, k)) is not None}
        return resolve(self.prices_region, overrides={**(self.prices_override or {}), **single},
                       origin="FLOWDIGEST_PRICES_OVERRIDE")


class SlackFunctionSettings(StoreSettings):
    # The token and channel are not settings here: flowdigest.slack.credentials reads them
    # per invocation (cached) from the secret SLACK_SECRET_NAME names, or from
    # SLACK_BOT_TOKEN/SLACK_CHANNEL_ID locally.
    ledger_table: str | None = Field(None, alias="FLOWDIGEST_LEDGER_TABLE")
    ledger_dir: Path = Field(Path(LOCAL_DIR) / "ledger", alias="FLOWDIGEST_LEDGER_DIR")

    def make_ledger(self) -> Any:
        from flowdigest.slack.ledger import DynamoDBLedger, FileLedger

        if self.ledger_table:
            return DynamoDBLedger(self.ledger_table)
        return FileLedger(self.ledger_dir)
