"""`flowdigest`: the daily digest on a laptop, with no AWS account.

User errors end in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from flowdigest import __version__

if TYPE_CHECKING:
    from flowdigest.findings.config import FindingsConfig
    from flowdigest.inventory import Snapshot
    from flowdigest.models import RenderOutput
    from flowdigest.pricing import Prices
    from flowdigest.sample import DayProfile

EXIT_INPUT = 3  # argparse uses 2 for usage errors; Slack errors have their own (slack/errors.py)


class UserError(Exception):
    """A problem with the command line or the input: shown as one line."""

    def __init__(self, message: str, code: int = EXIT_INPUT) -> None:
        super().__init__(message)
        self.code = code


def report_date(text: str) -> dt.date:
    from flowdigest import dates

    try:
        return dates.parse(text)
    except dates.BadReportDate as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def insight_list(text: str) -> list[str]:
    from flowdigest.pipeline import UnknownInsight, check_insights

    ids = [s.strip() for s in text.split(",") if s.strip()]
    if not ids:
        raise argparse.ArgumentTypeError(f"{text!r} names no insight (give ids separated by commas)")
    try:
        return check_insights(ids)
    except UnknownInsight as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def out_folder(text: str) -> Path:
    # DuckDB's Parquet writer takes a backslash for a folder separator: the rollup would
    # land elsewhere than the run reads it from
    if "\\" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: a backslash in the output folder's path is not supported")
    return Path(text)


def id_list(kind: str) -> Callable[[str], tuple[str, ...]]:
    """An argparse type: a comma-separated list of account / Region / VPC ids (flowdigest.scope)."""
    def parse(text: str) -> tuple[str, ...]:
        from flowdigest.scope import ScopeError, parse_ids

        try:
            return parse_ids(kind, text)
        except ScopeError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return parse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return value


def _prices(args: argparse.Namespace) -> Prices:
    from flowdigest.pricing import PricesError, resolve

    try:
        return resolve(args.price_region, args.prices)
    except PricesError as e:
        raise UserError(str(e)) from None


def _findings_config(args: argparse.Namespace, demo: bool = False) -> FindingsConfig:
    """The config file's thresholds and suppressions. The demo without one shows the flow logs'
    own cost too: a sample day's few MB cost cents, far below the $5/month it is shown from."""
    from flowdigest.findings.config import ConfigError, Thresholds, load, locate

    try:
        path = locate(args.config)
        config = load(path)
    except ConfigError as e:
        raise UserError(str(e)) from None
    if demo and path is None:
        return config.model_copy(update={"thresholds": Thresholds(flow_log_min_usd_per_month=0)})
    return config


class Progress:
    """Progress lines on stderr, with the time since the start."""

    def __init__(self, quiet: bool = False) -> None:
        self.t0 = time.monotonic()
        self.quiet = quiet

    def __call__(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.monotonic() - self.t0:5.1f}s] {text}", file=sys.stderr, flush=True)


def _add_report_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=out_folder, default=Path("out"),
                   help="output folder: the report goes to OUT/<date>/ (default: out)")
    p.add_argument("--no-charts", action="store_true", help="skip the PNG charts (no browser needed)")
    p.add_argument("--insights", type=insight_list, default=None, metavar="ID,ID",
                   help="run only these insights (default: all)")
    p.add_argument("--force", action="store_true",
                   help="post to Slack even if this day was already posted to the channel")
    p.add_argument("--update", action="store_true",
                   help="if this day was posted with other figures, edit that Slack post in place")
    p.add_argument("--rebuild", action="store_true",
                   help="build the day's rollup again even if its files are unchanged since the last run")
    p.add_argument("--price-region", default=None, metavar="REGION",
                   help="price the findings at this AWS Region's list prices (default: us-east-1; docs/prices.md)")
    p.add_argument("--prices", type=Path, default=None, metavar="FILE",
                   help="a TOML or JSON file of prices that replace the region's (any subset of the keys)")
    p.add_argument("--config", type=Path, default=None, metavar="FILE",
                   help="the findings' thresholds and suppressions (TOML; default: $FLOWDIGEST_CONFIG, "
                        "./flowdigest.toml, ~/.config/flowdigest/config.toml)")
    p.add_argument("--rebuild-history", action="store_true",
                   help="also build the rollups of the 7 days before again (say, after one was damaged)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowdigest",
        description="Turn a day of AWS VPC Flow Logs into a digest with charts and a Slack message.",
    )
    parser.add_argument("--version", action="version", version=f"flowdigest {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="generate sample days and run the report on them",
                          description="Generate a realistic sample day of flow logs (plus the 7 days "
                                      "before it, for history) and run the report on it.")
    demo.add_argument("--date", type=report_date, default=None,
                      help="the sample report day (default: yesterday, UTC)")
    demo.add_argument("--records", type=positive_int, default=200_000,
                      help="flow-log records on the report day (default: 200000)")
    _add_report_options(demo)

    run = sub.add_parser("run", help="run the report over a folder of flow logs",
                         description="Run the report for one day over a folder holding the AWS S3 "
                                     "layout (AWSLogs/.../year=/month=/day=/hour=/) or any folder of "
                                     "flow-log files.")
    run.add_argument("--source", type=Path, required=True, help="folder holding the flow logs")
    run.add_argument("--date", type=report_date, required=True, help="the day to report on (UTC), YYYY-MM-DD")
    run.add_argument("--skip-bad-files", action="store_true",
                     help="skip unreadable files (listed in the report) instead of stopping")
    run.add_argument("--inventory", type=Path, default=None, metavar="DIR",
                     help="the account's network inventory: a folder of `aws ec2 describe-...` JSON outputs "
                          "(README, \"Names\"); the report names the addresses and interfaces it shows")
    run.add_argument("--log-format", default=None, metavar="FORMAT",
                     help="the flow log's format ('${version} ${srcaddr} ...') for text files without a "
                          "header line (default: the header, or AWS's default format)")
    run.add_argument("--account", type=id_list("account"), default=None, metavar="ID[,ID]",
                     help="only these accounts' flow logs (12-digit ids; default: every account under --source)")
    run.add_argument("--region", dest="source_region", type=id_list("region"), default=None, metavar="R[,R]",
                     help="only these Regions' flow logs, e.g. eu-west-1 (default: every Region; "
                          "--price-region is the prices' Region)")
    run.add_argument("--vpc", type=id_list("vpc"), default=None, metavar="VPC[,VPC]",
                     help="only these VPCs' records (needs the vpc-id field; default: every VPC)")
    _add_report_options(run)

    post = sub.add_parser("post", help="post an existing report folder's message to Slack",
                          description="Post OUT/<date>/message.json and its charts to Slack "
                                      "(SLACK_BOT_TOKEN, SLACK_CHANNEL_ID; SLACK_API_URL for another API "
                                      "endpoint; SLACK_ROUTES, JSON, gives accounts and VPCs channels of their "
                                      "own). A day is posted once per channel unless --force.")
    post.add_argument("report_dir", type=Path, help="the report folder, e.g. out/2026-11-26")
    post.add_argument("--force", action="store_true", help="post again even if already posted")
    post.add_argument("--update", action="store_true",
                      help="if the day was posted with other content, edit that post in place")

    _add_sample_parser(sub)
    return parser


def hour_list(text: str) -> tuple[int, ...]:
    try:
        hours = tuple(int(h) for h in text.split(",") if h.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of hours, e.g. 3,17") from None
    if any(not 0 <= h <= 23 for h in hours):
        raise argparse.ArgumentTypeError(f"{text!r}: hours are 0 to 23 (UTC)")
    return hours


def _add_sample_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sample = sub.add_parser(
        "sample", help="only generate sample days of flow logs",
        description="Write seeded sample days of VPC Flow Logs as AWS delivers them to S3 (gzip Parquet, "
                    "AWSLogs/.../year=/month=/day=/hour=/): the report day and the days before it. The same "
                    "seed and options write the same records.")
    sample.add_argument("--out", type=Path, required=True, help="folder to write AWSLogs/... into")
    sample.add_argument("--date", type=report_date, required=True, help="the last (report) day, YYYY-MM-DD")
    sample.add_argument("--days", type=positive_int, default=8, help="days ending with --date (default: 8)")
    sample.add_argument("--records", type=positive_int, default=200_000,
                        help="records on the last day; earlier days vary around it (default: 200000)")
    sample.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    sample.add_argument("--files-per-hour", type=positive_int, default=None,
                        help="files per hour (default: 2-6 by volume, as AWS delivers)")
    sample.add_argument("--workers", type=positive_int, default=None,
                        help="files written at once (default: 2); the content does not depend on it")
    sample.add_argument("--accounts", type=positive_int, default=1,
                        help="an organisation's day: this many accounts, each under its own AWSLogs/ prefix "
                             "(default: 1, the single sample VPC)")
    sample.add_argument("--regions", type=positive_int, default=1,
                        help="Regions per account (default: 1; at most 8)")
    sample.add_argument("--vpcs", type=positive_int, default=1, help="VPCs per account and Region (default: 1)")
    sample.add_argument("--missing-hours", type=hour_list, default=(), metavar="H,H,...",
                        help="UTC hours with no files delivered, e.g. 3,17")
    for flag, what in (("nat", "NAT gateway traffic"), ("rejects", "rejected traffic"),
                       ("gateway-endpoint", "gateway endpoint (S3/DynamoDB go through the NAT gateway)"),
                       ("nodata", "NODATA/SKIPDATA records")):
        sample.add_argument(f"--no-{flag}", action="store_true", help=f"no {what}")
    sample.add_argument("--tgw", action="store_true",
                        help="also a Transit Gateway flow log (under tgw-flowlogs/) between the sample VPC and "
                             "three others, in another account and another Region (flowdigest.sample.tgw)")
    sample.add_argument("-q", "--quiet", action="store_true", help="no line per day written")


def _sample(args: argparse.Namespace) -> int:
    from flowdigest import dates, sample
    from flowdigest.sample.org import REGIONS, org_vpcs, tgw_vpcs

    if args.days > (args.date - dates.EARLIEST).days + 1:
        raise UserError(f"--days {args.days} from --date {args.date} reaches back before {dates.EARLIEST}, "
                        "when VPC Flow Logs began", code=2)
    profile = sample.DayProfile(
        nat_traffic=not args.no_nat, rejects=not args.no_rejects, gateway_endpoint=not args.no_gateway_endpoint,
        nodata=not args.no_nodata, files_per_hour=args.files_per_hour, missing_hours=args.missing_hours)

    def written(day: dt.date, paths: list[Path], rows: int, seconds: float) -> None:
        if not args.quiet:
            size = sum(f.stat().st_size for f in paths)
            print(f"{day}: {rows:,} records in {len(paths)} files ({size / 2**20:.1f} MiB) in {seconds:.1f} s",
                  flush=True)

    if args.regions > len(REGIONS):
        raise UserError(f"--regions {args.regions}: the sample knows {len(REGIONS)} Regions", code=2)
    single = (args.accounts, args.regions, args.vpcs) == (1, 1, 1)
    if single:
        sample.generate_days(args.out, args.date, days=args.days, records=args.records, seed=args.seed,
                             profile=profile, workers=args.workers, progress=written)
    else:
        _sample_org(args, profile, written)
    if args.tgw:
        from flowdigest.sample import tgw

        vpcs = tgw.sample_vpcs(args.seed) if single else tgw_vpcs(
            org_vpcs(args.accounts, args.regions, args.vpcs, args.seed), profile)
        for back in range(args.days - 1, -1, -1):
            day = args.date - dt.timedelta(days=back)
            paths = tgw.write_tgw_day(args.out, vpcs, day, seed=args.seed)
            if not args.quiet:
                print(f"{day}: Transit Gateway flow log in {len(paths)} files", flush=True)
    return 0


def _sample_org(args: argparse.Namespace, profile: DayProfile,
                written: Callable[[dt.date, list[Path], int, float], None]) -> None:
    rows, t0 = [0], time.perf_counter()

    def counted(day: dt.date, paths: list[Path], n: int, seconds: float) -> None:
        rows[0] += n
        if day == args.date:
            written(day, paths, n, seconds)

    from flowdigest.sample.org import generate_org_days

    generate_org_days(args.out, args.date, accounts=args.accounts, regions=args.regions, vpcs=args.vpcs,
                      days=args.days, records=args.records, seed=args.seed, profile=profile,
                      workers=args.workers, progress=counted)
    seconds = time.perf_counter() - t0
    print(f"{args.accounts} accounts × {args.regions} Regions × {args.vpcs} VPCs: {rows[0]:,} records in "
          f"{seconds:.1f} s ({rows[0] / seconds:,.0f} records/s)", flush=True)


def _print_result(out: Path, output: RenderOutput) -> Path:
    """Print the digest's headline and summaries; returns the report folder."""
    from flowdigest.models import Report

    report = Report.model_validate_json((out / output.report_key).read_text())
    report_dir = out / output.report_date.isoformat()
    lines = [output.headline, *(f"  {e.title}: {e.summary}" for e in report.insights.values()),
             f"report: {report_dir / 'report.json'}", f"preview: {report_dir / 'preview.html'}"]
    try:
        print("\n".join(lines), flush=True)
    except BrokenPipeError:  # `| head`: the reader has what it wanted; the run goes on to post
        _stdout_to_devnull()
    return report_dir


def _stdout_to_devnull() -> None:
    """Send what is left of stdout nowhere (Python's exit-time flush would fail again)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _demo(args: argparse.Namespace, progress: Progress) -> RenderOutput:
    from flowdigest import dates, sample
    from flowdigest.runner import run_day

    day = args.date or dates.yesterday()
    prices = _prices(args)  # a bad prices file stops before the sample days are generated
    config = _findings_config(args, demo=True)
    source = args.out / "sample"
    stamp = source / f".generated-{day}-{args.records}"
    if stamp.exists():
        progress(f"reusing the sample days in {source}")
    else:
        progress(f"generating 8 sample days ending {day} in {source}")
        sample.generate_days(source, day, days=8, records=args.records)
        stamp.touch()
    inventory = _sample_inventory(source, stamp, args.out / "sample-inventory", progress)
    return run_day(source, day, args.out, charts=not args.no_charts, insights=args.insights,
                   prices=prices, reuse_rollups=not args.rebuild, rebuild_history=args.rebuild_history,
                   progress=progress, findings_config=config, inventory=inventory)



def _sample_inventory(source: Path, stamp: Path, folder: Path, progress: Progress) -> Snapshot:
    """The sample network's six describe outputs (what `aws ec2 describe-…` would print), written
    once per generated sample, read back as `run --inventory` reads them."""
    from flowdigest import inventory, sample
    from flowdigest.inventory.sample_inventory import write_inventory

    if not any(folder.glob("*.json")) or stamp.stat().st_mtime > folder.stat().st_mtime:
        progress(f"writing the sample network's inventory to {folder}")
        write_inventory(sample.network(), source, folder)
    return inventory.read_dir(folder)


def _read_inventory(folder: Path | None) -> Snapshot | None:
    from flowdigest import inventory

    if folder is None:
        return None
    if not folder.is_dir():
        raise UserError(f"--inventory {folder}: no such folder")
    return inventory.read_dir(folder)


def _run(args: argparse.Namespace, progress: Progress) -> RenderOutput:
    from flowdigest.runner import run_day

    if not args.source.is_dir():
        raise UserError(f"--source {args.source}: no such folder")
    if args.source.resolve() == Path(args.source.resolve().anchor):  # its walk would take ages
        raise UserError(f"--source {args.source}: the file system's root; give the folder holding the flow logs",
                        code=2)
    from flowdigest.scope import Scope

    inventory = _read_inventory(args.inventory)  # a malformed file stops before any work
    scope = Scope(args.account or (), args.source_region or (), args.vpc or ())
    return run_day(args.source, args.date, args.out, charts=not args.no_charts, scope=scope,
                   skip_bad=args.skip_bad_files, log_format=args.log_format, insights=args.insights,
                   prices=_prices(args), reuse_rollups=not args.rebuild, rebuild_history=args.rebuild_history,
                   progress=progress, findings_config=_findings_config(args), inventory=inventory)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    progress = Progress(getattr(args, "quiet", False))
    from flowdigest.insights import PATH_ERRORS

    if PATH_ERRORS:  # an insight folder given by FLOWDIGEST_INSIGHTS_PATH did not load
        print(f"flowdigest: error: {PATH_ERRORS[0]}", file=sys.stderr)
        return EXIT_INPUT
    from flowdigest.slack.local import post_outbox

    if args.command == "post":  # before loading the flow-log readers: posting needs none of them
        try:
            return post_outbox(args.report_dir, force=args.force, update=args.update)
        except KeyboardInterrupt:
            print("flowdigest: interrupted", file=sys.stderr)
            return 130
    from flowdigest.runner import RunError
    from flowdigest.sources import FlowLogError

    try:
        if args.command == "sample":
            return _sample(args)
        output = _demo(args, progress) if args.command == "demo" else _run(args, progress)
        report_dir = _print_result(args.out, output)
        # Posts when SLACK_BOT_TOKEN is set; otherwise says the outbox is the result.
        return post_outbox(report_dir, force=args.force, update=args.update)
    except (UserError, FlowLogError, RunError) as e:
        print(f"flowdigest: error: {e}", file=sys.stderr)
        return getattr(e, "code", EXIT_INPUT)
    except BrokenPipeError:  # stdout closed early (`| head`): nothing left to tell it
        _stdout_to_devnull()
        return 0
    except KeyboardInterrupt:
        print("flowdigest: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
