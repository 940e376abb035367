#!/usr/bin/env python3
"""The monthly AWS bill of a twitter-pipeline deployment, by component, and its dollars per million posts.

Usage:
  scripts/cost.py --posts-per-second N [N ...] [--keywords K] [--retention-days D]
                  [--stream-mode provisioned|on-demand] [--shards S] [--json] [options]

Every template parameter that changes the bill is an option whose default is the value in
cloudformation/template.yaml (read here without PyYAML); what the template fixes (the table's
billing mode, point-in-time recovery, the alarms and the dashboard) is read from it too. Sizes
come from this project's measurements (MEASURED below) and prices from the dated price table
(PRICES below: us-east-1 list prices, before free tier, tax and discounts). A month is AWS's
730 hours; a GB is 2^30 bytes.

Not in the total: X's bill ($0.005 per post read, printed beside the total: it is by far the
largest), the always-free tier (Lambda's 1M requests and 400,000 GB-s, DynamoDB's 25 GB,
CloudWatch's 10 metrics, 10 alarms, 5 GB of logs and 3 dashboards), KMS requests for the AWS
managed keys (cents), SQS (the dead-letter queue is normally empty), the artifacts bucket, the
failed-batch bucket (empty until Lambda discards a batch; its request metrics, billed as custom
metrics, are billed only for the hours S3 reports requests in), and data transfer (free into AWS
and within the region).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = REPO / "cloudformation" / "template.yaml"

HOURS_PER_MONTH = 730  # AWS's monthly convention: $0.04 an hour is $29.20 a month
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
GB = 2**30
KIB = 1024


# ---------------------------------------------------------------------------- prices


@dataclass(frozen=True)
class Price:
    usd: float
    unit: str
    date: str  # when this price was read
    source: str


KINESIS_PRICING = "https://aws.amazon.com/kinesis/data-streams/pricing/"
LAMBDA_PRICING = "https://aws.amazon.com/lambda/pricing/"
DYNAMODB_PRICING = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
CLOUDWATCH_PRICING = "https://aws.amazon.com/cloudwatch/pricing/"
X_PRICING = "https://docs.x.com/x-api/getting-started/pricing"

# us-east-1 list prices, first tier, as the source pages show them on the date beside each (the
# pages render them from the AWS price list, the machine-readable original:
# https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<service>/current/us-east-1/index.json).
# A changed price is a new figure and a new date here, then the README table rerun.
KINESIS_SHARD_HOUR = Price(0.015, "shard-hour", "2026-12-02", KINESIS_PRICING)
KINESIS_PUT_UNIT = Price(0.014 / 1e6, "PUT payload unit (25 KB)", "2026-12-02", KINESIS_PRICING)
KINESIS_EXTENDED_RETENTION_SHARD_HOUR = Price(0.020, "shard-hour (retention 24 h to 7 days)", "2026-12-02", KINESIS_PRICING)
KINESIS_ON_DEMAND_STREAM_HOUR = Price(0.04, "stream-hour", "2026-12-02", KINESIS_PRICING)
KINESIS_ON_DEMAND_IN = Price(0.08, "GB in (records rounded up to 1 KB)", "2026-12-02", KINESIS_PRICING)
KINESIS_ON_DEMAND_OUT = Price(0.04, "GB out", "2026-12-02", KINESIS_PRICING)
KINESIS_ON_DEMAND_EXTENDED_RETENTION = Price(0.10, "GB-month (retention 24 h to 7 days)", "2026-12-02", KINESIS_PRICING)
KINESIS_LONG_TERM_RETENTION = Price(0.023, "GB-month (retention past 7 days)", "2026-12-02", KINESIS_PRICING)
LAMBDA_REQUEST = Price(0.20 / 1e6, "request", "2026-12-02", LAMBDA_PRICING)
LAMBDA_GB_SECOND = {
    "arm64": Price(0.0000133334, "GB-s (arm64)", "2026-12-02", LAMBDA_PRICING),
    "x86_64": Price(0.0000166667, "GB-s (x86_64)", "2026-12-02", LAMBDA_PRICING),
}
DYNAMODB_WRITE_UNIT = Price(0.625 / 1e6, "write request unit", "2026-12-02", DYNAMODB_PRICING)
DYNAMODB_STORAGE = Price(0.25, "GB-month", "2026-12-02", DYNAMODB_PRICING)
DYNAMODB_PITR = Price(0.20, "GB-month of table", "2026-12-02", DYNAMODB_PRICING)
CLOUDWATCH_LOG_INGESTION = Price(0.50, "GB ingested", "2026-12-02", CLOUDWATCH_PRICING)
CLOUDWATCH_LOG_STORAGE = Price(0.03, "GB-month", "2026-12-02", CLOUDWATCH_PRICING)
CLOUDWATCH_METRIC = Price(0.30, "metric-month", "2026-12-02", CLOUDWATCH_PRICING)
CLOUDWATCH_ALARM = Price(0.10, "alarm-month", "2026-12-02", CLOUDWATCH_PRICING)
CLOUDWATCH_DASHBOARD = Price(3.00, "dashboard-month", "2026-12-02", CLOUDWATCH_PRICING)
X_POST_READ = Price(0.005, "post read (pay-per-use)", "2026-12-02", X_PRICING)

PRICES: dict[str, Price] = {
    "kinesis_shard_hour": KINESIS_SHARD_HOUR,
    "kinesis_put_unit": KINESIS_PUT_UNIT,
    "kinesis_extended_retention_shard_hour": KINESIS_EXTENDED_RETENTION_SHARD_HOUR,
    "kinesis_on_demand_stream_hour": KINESIS_ON_DEMAND_STREAM_HOUR,
    "kinesis_on_demand_in": KINESIS_ON_DEMAND_IN,
    "kinesis_on_demand_out": KINESIS_ON_DEMAND_OUT,
    "kinesis_on_demand_extended_retention": KINESIS_ON_DEMAND_EXTENDED_RETENTION,
    "kinesis_long_term_retention": KINESIS_LONG_TERM_RETENTION,
    "lambda_request": LAMBDA_REQUEST,
    "lambda_gb_second_arm64": LAMBDA_GB_SECOND["arm64"],
    "lambda_gb_second_x86_64": LAMBDA_GB_SECOND["x86_64"],
    "dynamodb_write_unit": DYNAMODB_WRITE_UNIT,
    "dynamodb_storage": DYNAMODB_STORAGE,
    "dynamodb_pitr": DYNAMODB_PITR,
    "cloudwatch_log_ingestion": CLOUDWATCH_LOG_INGESTION,
    "cloudwatch_log_storage": CLOUDWATCH_LOG_STORAGE,
    "cloudwatch_metric": CLOUDWATCH_METRIC,
    "cloudwatch_alarm": CLOUDWATCH_ALARM,
    "cloudwatch_dashboard": CLOUDWATCH_DASHBOARD,
    "x_post_read": X_POST_READ,
}


# ---------------------------------------------------------------------------- measured sizes

# Over the 67 complete posts of fixtures/x-stream/ (95 items: they match 1.42 keywords on
# average), codec 2: README "Measured", consumer/README.md "Measured figures",
# `cargo bench -p twitter-consumer --bench item_sizes`.
FIXTURE_KEYWORDS_PER_POST = 95 / 67
WRITE_UNITS_PER_ITEM = 2.28  # per (post, keyword): the item's units plus one for its index entry
ITEM_BYTES = 914  # mean item, by DynamoDB's size rules
INDEX_ENTRY_BYTES = 224  # mean index entry, DynamoDB's 100-byte overhead included
ITEM_OVERHEAD_BYTES = 100  # DynamoDB bills 100 bytes per item on top of its data
# The same posts as Kinesis records (record/: the header, then the line as X sent it):
RECORD_BYTES = 2448  # mean record
RECORD_BILLED_KIB = 2.85  # mean record rounded up to whole KiB, as on-demand bills writes
PUT_UNITS_PER_RECORD = 1  # the largest record, 7,236 bytes, is one 25 KB unit
# README "Measured": handler CPU per record, 500-record batch, DynamoDB mocked.
HANDLER_MS_PER_RECORD = 0.036
# Assumed, not measured (moto on loopback is not DynamoDB): one BatchWriteItem round trip
# from Lambda in the same region. --write-latency-ms changes it.
WRITE_ROUND_TRIP_MS = 10.0
# CloudWatch Logs bytes per invocation, from the lines' formats: START (71), END (52) and
# REPORT (141) from Lambda, "batch done" (153, tracing JSON) and the EMF totals line (573, a
# 33-character function name, with its FunctionName dimension) from the consumer; then one EMF
# line per keyword of METRIC_KEYWORDS in the batch (322: it carries FunctionName too).
LOG_BYTES_PER_INVOCATION = 71 + 52 + 141 + 153 + 573
LOG_BYTES_PER_KEYWORD_LINE = 322

MEASURED = {
    "keywords_per_post_in_fixtures": FIXTURE_KEYWORDS_PER_POST,
    "write_units_per_item": WRITE_UNITS_PER_ITEM,
    "item_bytes": ITEM_BYTES,
    "index_entry_bytes": INDEX_ENTRY_BYTES,
    "record_bytes": RECORD_BYTES,
    "record_billed_kib": RECORD_BILLED_KIB,
    "handler_ms_per_record": HANDLER_MS_PER_RECORD,
    "write_round_trip_ms_assumed": WRITE_ROUND_TRIP_MS,
    "log_bytes_per_invocation": LOG_BYTES_PER_INVOCATION,
    "log_bytes_per_keyword_line": LOG_BYTES_PER_KEYWORD_LINE,
}

# The consumer's own limits (consumer/src: limits.rs, config.rs, metric_keywords.rs, emf.rs).
MAX_BATCH_WRITE_ITEMS = 25
DEFAULT_CONCURRENT_WRITES = 4
MAX_METRIC_KEYWORDS = 20  # keywords with EMF metrics of their own (MetricKeywords); the rest share "(other)"
TOTALS_METRICS = 7  # Records, PostsWritten, ItemsWritten, Duplicates, PoisonRecords, RetriedRecords, WriteUnits
KEYWORD_METRICS = 2  # PostsWritten, Duplicates, per Keyword value

# AWS's behaviour and limits.
SHARD_WRITE_BYTES_PER_SECOND = 1024 * 1024
SHARD_WRITE_RECORDS_PER_SECOND = 1000
ON_DEMAND_SHARDS = 4  # a new on-demand stream's 4 MB/s; it grows only past twice its 30-day peak
POLL_INTERVAL_SECONDS = 1.0  # Lambda reads each shard about once a second
INVOCATION_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous invocation payload
EVENT_BYTES_PER_RECORD_OVERHEAD = 300  # the event's JSON around each base64 record


# ---------------------------------------------------------------------------- the template


HELP_NOTES = """\
Defaults marked (template) are read from cloudformation/template.yaml, as are the table's billing
mode, point-in-time recovery, the alarms and the dashboard. Sizes are this project's measured
ones (item_sizes bench, fixture records), prices us-east-1 list prices with their date and source
in the script. Not in the total: X's $0.005 per post read (shown below it), the always-free tier,
KMS requests for the AWS managed keys, SQS, the artifacts and failed-batch buckets, data transfer.

Examples:
  scripts/cost.py --posts-per-second 1 10 100
  scripts/cost.py --posts-per-second 50 --keywords 5 --retention-days 90 --stream-mode on-demand
  scripts/cost.py --posts-per-second 10 --json"""


class InputError(Exception):
    """Bad input: one line for the user, exit 2."""


@dataclass(frozen=True)
class TemplateFacts:
    defaults: dict[str, Any]
    table_billing_mode: str
    point_in_time_recovery: bool
    alarms: int
    dashboards: int


def _scalar(raw: str) -> str:
    """A YAML scalar as written in the template: quotes removed, a trailing comment dropped."""
    raw = raw.strip()
    if raw[:1] in ("'", '"'):
        end = raw.find(raw[0], 1)
        return raw[1:end] if end > 0 else raw[1:]
    return raw.split(" #", 1)[0].strip()


def _entries(lines: list[str]) -> dict[str, list[str]]:
    """The two-space-indented keys of a top-level section, each with its lines."""
    entries: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lines:
        match = re.match(r"^  ([A-Za-z0-9]+):\s*$", line)
        if match:
            current = entries.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
    return entries


def read_template(path: Path) -> TemplateFacts:
    """What the bill depends on in the template. The template is this project's own and keeps to
    block YAML, so a line reader suffices (and keeps this script to the standard library)."""
    try:
        text = path.read_text()
    except OSError as error:
        raise InputError(f"cannot read the template {path}: {error.strerror}") from None
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z]+):", line)
        if match:
            current = sections.setdefault(match.group(1), [])
        elif current is not None:
            current.append(line)
    if "Parameters" not in sections or "Resources" not in sections:
        raise InputError(f"{path} is not the pipeline's template (no Parameters or Resources)")

    defaults: dict[str, Any] = {}
    for name, block in _entries(sections["Parameters"]).items():
        fields = dict(re.findall(r"^    (Type|Default):(.*)$", "\n".join(block), re.M))
        if "Default" not in fields:
            continue
        value = _scalar(fields["Default"])
        if _scalar(fields.get("Type", "")) == "Number":
            value = float(value) if "." in value else int(value)
        defaults[name] = value

    resources = {name: "\n".join(block) for name, block in _entries(sections["Resources"]).items()}
    types = {name: _scalar(m.group(1)) for name, body in resources.items()
             if (m := re.search(r"^    Type:(.*)$", body, re.M))}
    tables = [resources[n] for n, t in types.items() if t == "AWS::DynamoDB::Table"]
    if len(tables) != 1:
        raise InputError(f"{path}: expected one DynamoDB table, found {len(tables)}")
    billing = re.search(r"^\s+BillingMode:(.*)$", tables[0], re.M)
    pitr = re.search(r"^\s+PointInTimeRecoveryEnabled:(.*)$", tables[0], re.M)
    return TemplateFacts(
        defaults=defaults,
        table_billing_mode=_scalar(billing.group(1)) if billing else "PROVISIONED",
        point_in_time_recovery=bool(pitr) and _scalar(pitr.group(1)).lower() == "true",
        alarms=sum(t == "AWS::CloudWatch::Alarm" for t in types.values()),
        dashboards=sum(t == "AWS::CloudWatch::Dashboard" for t in types.values()),
    )


# ---------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Deployment:
    """Everything the bill depends on besides the rate (main fills it from the options, whose
    defaults are the template's)."""

    keywords: int
    keywords_per_post: float
    retention_days: int  # 0: items are kept forever
    storage_months: float  # with retention 0, the table is priced as it stands after this
    stream_mode: str  # "provisioned" or "on-demand"
    shards: int  # provisioned shards, or the shards an on-demand stream gives Lambda to poll
    stream_retention_hours: int
    memory_mb: int
    architecture: str
    batch_size: int
    batching_window_seconds: float
    parallelization_factor: int
    log_retention_days: int
    write_latency_ms: float
    table_billing_mode: str
    point_in_time_recovery: bool
    alarms: int
    dashboards: int


@dataclass(frozen=True)
class Line:
    service: str
    item: str
    quantity: float
    price: Price

    @property
    def usd(self) -> float:
        return self.quantity * self.price.usd


def invocations_per_second(posts_per_second: float, d: Deployment) -> float:
    """Lambda invocations a second. Each shard (times the parallelization factor) is read by its
    own poller: while records arrive slower than a batch fills, it invokes once per batching
    window (at least once per poll interval, at most once per record); faster, once per full
    batch."""
    if posts_per_second <= 0:
        return 0.0
    pollers = d.shards * d.parallelization_factor
    per_poller = posts_per_second / pollers
    window = max(d.batching_window_seconds, POLL_INTERVAL_SECONDS)
    batch = min(d.batch_size, INVOCATION_PAYLOAD_BYTES // (RECORD_BYTES * 4 // 3 + EVENT_BYTES_PER_RECORD_OVERHEAD))
    return pollers * max(per_poller / batch, min(per_poller, 1 / window))


def billed_ms_per_invocation(records: float, d: Deployment) -> int:
    """Lambda bills whole milliseconds: the handler's CPU for the batch, plus the BatchWriteItem
    round trips it waits for (25 items each, DEFAULT_CONCURRENT_WRITES at a time)."""
    requests = math.ceil(records * d.keywords_per_post / MAX_BATCH_WRITE_ITEMS)
    round_trips = math.ceil(requests / DEFAULT_CONCURRENT_WRITES)
    return math.ceil(records * HANDLER_MS_PER_RECORD + round_trips * d.write_latency_ms)


def shards_needed(posts_per_second: float) -> int:
    return max(1, math.ceil(posts_per_second * RECORD_BYTES / SHARD_WRITE_BYTES_PER_SECOND),
               math.ceil(posts_per_second / SHARD_WRITE_RECORDS_PER_SECOND))


def estimate(posts_per_second: float, d: Deployment) -> dict[str, Any]:
    """The month's bill at this rate: its lines, total and dollars per million posts."""
    if d.table_billing_mode != "PAY_PER_REQUEST":
        raise InputError(f"the table's billing mode is {d.table_billing_mode}: only on-demand (PAY_PER_REQUEST) is priced")
    posts = posts_per_second * SECONDS_PER_MONTH
    items = posts * d.keywords_per_post
    lines: list[Line] = []
    warnings: list[str] = []

    # Kinesis
    hours = d.stream_retention_hours
    if d.stream_mode == "provisioned":
        lines.append(Line("Kinesis", "shard-hours", d.shards * HOURS_PER_MONTH, KINESIS_SHARD_HOUR))
        lines.append(Line("Kinesis", "PUT payload units", posts * PUT_UNITS_PER_RECORD, KINESIS_PUT_UNIT))
        if hours > 24:
            lines.append(Line("Kinesis", "extended retention (shard-hours)", d.shards * HOURS_PER_MONTH,
                              KINESIS_EXTENDED_RETENTION_SHARD_HOUR))
        stored_bytes_per_second = posts_per_second * RECORD_BYTES
        needed = shards_needed(posts_per_second)
        if needed > d.shards:
            warnings.append(f"{posts_per_second:g} posts/s needs {needed} shards (1 MB/s and 1,000 records/s each): "
                            f"{d.shards} would throttle")
    else:
        lines.append(Line("Kinesis", "stream-hours", HOURS_PER_MONTH, KINESIS_ON_DEMAND_STREAM_HOUR))
        lines.append(Line("Kinesis", "data in (GB)", posts * RECORD_BILLED_KIB * KIB / GB, KINESIS_ON_DEMAND_IN))
        lines.append(Line("Kinesis", "data out (GB)", posts * RECORD_BYTES / GB, KINESIS_ON_DEMAND_OUT))
        stored_bytes_per_second = posts_per_second * RECORD_BILLED_KIB * KIB
        if hours > 24:
            extended = stored_bytes_per_second * (min(hours, 168) - 24) * 3600 / GB
            lines.append(Line("Kinesis", "extended retention (GB-month)", extended, KINESIS_ON_DEMAND_EXTENDED_RETENTION))
    if hours > 168:
        long_term = stored_bytes_per_second * (hours - 168) * 3600 / GB
        lines.append(Line("Kinesis", "long-term retention (GB-month)", long_term, KINESIS_LONG_TERM_RETENTION))

    # Lambda
    invocations_s = invocations_per_second(posts_per_second, d)
    invocations = invocations_s * SECONDS_PER_MONTH
    records_per_invocation = posts_per_second / invocations_s if invocations_s else 0.0
    billed_ms = billed_ms_per_invocation(records_per_invocation, d) if invocations else 0
    gb_seconds = invocations * billed_ms / 1000 * d.memory_mb / 1024
    lines.append(Line("Lambda", "requests", invocations, LAMBDA_REQUEST))
    lines.append(Line("Lambda", f"duration (GB-s, {d.memory_mb} MB)", gb_seconds, LAMBDA_GB_SECOND[d.architecture]))

    # DynamoDB
    lines.append(Line("DynamoDB", "write request units", items * WRITE_UNITS_PER_ITEM, DYNAMODB_WRITE_UNIT))
    if d.retention_days:
        kept_seconds = d.retention_days * 86400
    else:
        kept_seconds = d.storage_months * SECONDS_PER_MONTH
    kept_items = posts_per_second * d.keywords_per_post * kept_seconds
    table_bytes = kept_items * (ITEM_BYTES + ITEM_OVERHEAD_BYTES)
    lines.append(Line("DynamoDB", "storage, table and index (GB-month)",
                      (table_bytes + kept_items * INDEX_ENTRY_BYTES) / GB, DYNAMODB_STORAGE))
    if d.point_in_time_recovery:
        lines.append(Line("DynamoDB", "point-in-time recovery (GB-month)", table_bytes / GB, DYNAMODB_PITR))

    # CloudWatch
    # The keywords are assumed named in MetricKeywords: up to MAX_METRIC_KEYWORDS each keeps its own
    # dimension value, and beyond it the rest share "(other)". The set is fixed, so it bounds both
    # the lines of a batch and the metrics of the month.
    keyword_values = d.keywords if d.keywords <= MAX_METRIC_KEYWORDS else MAX_METRIC_KEYWORDS + 1
    keyword_lines = min(keyword_values, max(1, math.ceil(records_per_invocation * d.keywords_per_post)))
    log_gb = invocations * (LOG_BYTES_PER_INVOCATION + keyword_lines * LOG_BYTES_PER_KEYWORD_LINE) / GB
    lines.append(Line("CloudWatch", "logs ingested (GB)", log_gb, CLOUDWATCH_LOG_INGESTION))
    # At steady state the group holds the last LogRetentionDays of lines (uncompressed: an upper bound).
    lines.append(Line("CloudWatch", "logs stored (GB-month)", log_gb * d.log_retention_days / DAYS_PER_MONTH,
                      CLOUDWATCH_LOG_STORAGE))
    lines.append(Line("CloudWatch", "custom metrics (EMF)", TOTALS_METRICS + KEYWORD_METRICS * keyword_values,
                      CLOUDWATCH_METRIC))
    lines.append(Line("CloudWatch", "alarms", d.alarms, CLOUDWATCH_ALARM))
    lines.append(Line("CloudWatch", "dashboard", d.dashboards, CLOUDWATCH_DASHBOARD))

    total = sum(line.usd for line in lines)
    return {
        "posts_per_second": posts_per_second,
        "posts_per_month": posts,
        "invocations_per_month": invocations,
        "records_per_invocation": records_per_invocation,
        "billed_ms_per_invocation": billed_ms,
        "lines": lines,
        "total_usd": total,
        "usd_per_million_posts": total / (posts / 1e6) if posts else None,
        "x_api_usd": posts * X_POST_READ.usd,
        "warnings": warnings,
    }


# ---------------------------------------------------------------------------- output


def money(usd: float) -> str:
    if 0 < usd < 0.005:
        return "<0.01"
    return f"{usd:,.2f}"


def price_text(price: Price) -> str:
    """Per million units when a unit costs less than a thousandth of a cent."""
    per_million = price.usd < 1e-5
    value = price.usd * 1e6 if per_million else price.usd
    digits = f"{value:.10f}".rstrip("0")
    whole, _, fraction = digits.partition(".")
    unit = price.unit
    if per_million:
        noun, paren, rest = unit.partition(" (")
        unit = f"million {noun}s{paren}{rest}"
    return f"${whole}.{fraction.ljust(2, '0')} per {unit}"


def quantity(q: float) -> str:
    if q >= 100 or q == int(q):
        return f"{q:,.0f}"
    return f"{q:,.3g}"


def rate_label(posts_per_second: float) -> str:
    return f"{posts_per_second:g} post/s" if posts_per_second == 1 else f"{posts_per_second:g} posts/s"


def table(estimates: list[dict[str, Any]], d: Deployment) -> str:
    single = len(estimates) == 1
    head = ["service", "item"] + (["quantity"] if single else []) + ["price"] + [f"$/month at {rate_label(e['posts_per_second'])}" for e in estimates]
    rows = []
    for i, line in enumerate(estimates[0]["lines"]):
        row = [line.service, line.item]
        if single:
            row.append(quantity(line.quantity))
        row.append(price_text(line.price))
        row += [money(e["lines"][i].usd) for e in estimates]
        rows.append(row)
    blank = [""] * (len(head) - len(estimates))
    rows.append(["total", ""] + blank[2:] + [money(e["total_usd"]) for e in estimates])
    rows.append(["per million posts", ""] + blank[2:] + [money(e["usd_per_million_posts"]) if e["usd_per_million_posts"] is not None else "-" for e in estimates])
    rows.append(["X API, not included", ""] + blank[2:] + [f"{e['x_api_usd']:,.0f}" for e in estimates])
    widths = [max(len(str(r[c])) for r in rows + [head]) for c in range(len(head))]
    right = {c for c in range(len(head)) if c >= len(head) - len(estimates) or (single and c == 2)}

    def fmt(row: list[str]) -> str:
        cells = [str(v).rjust(widths[c]) if c in right else str(v).ljust(widths[c]) for c, v in enumerate(row)]
        return "| " + " | ".join(cells) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if c in right else ("-" * (w + 2)) for c, w in enumerate(widths)) + "|"
    stream = (f"provisioned, {d.shards} shard{'s' if d.shards != 1 else ''}" if d.stream_mode == "provisioned"
              else f"on-demand ({d.shards} shards for Lambda's pollers)")
    kept = f"{d.retention_days} days" if d.retention_days else f"forever (priced after {d.storage_months:g} months)"
    notes = [
        f"Stream {stream}; batching window {d.batching_window_seconds:g} s, batch size {d.batch_size}; "
        f"{d.memory_mb} MB {d.architecture}; {d.keywords} keyword{'s' if d.keywords != 1 else ''} "
        f"({d.keywords_per_post:.3g} per post); items kept {kept}.",
        "Invocations per month: " + ", ".join(f"{e['invocations_per_month']:,.0f} ({e['records_per_invocation']:.3g} records, "
                                               f"{e['billed_ms_per_invocation']} ms billed)" for e in estimates) + ".",
        f"us-east-1 list prices of {latest_price_date()}, before free tier; X's $0.005 per post read is not in the total.",
    ]
    return "\n".join([fmt(head), sep] + [fmt(r) for r in rows]) + "\n\n" + "\n".join(notes)


def latest_price_date() -> str:
    return max(p.date for p in PRICES.values())


def as_json(estimates: list[dict[str, Any]], d: Deployment) -> str:
    def line(l: Line) -> dict[str, Any]:
        return {"service": l.service, "item": l.item, "quantity": l.quantity, "unit": l.price.unit,
                "unit_usd": l.price.usd, "monthly_usd": l.usd}

    return json.dumps({
        "deployment": asdict(d),
        "estimates": [{**e, "lines": [line(l) for l in e["lines"]]} for e in estimates],
        "prices": {name: asdict(p) for name, p in PRICES.items()},
        "measured": MEASURED,
    }, indent=2)


# ---------------------------------------------------------------------------- command line


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2
        raise InputError(message)


def bounded(kind, low: float, high: float | None = None):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            span = f"from {low:g} to {high:g}" if high is not None else f"at least {low:g}"
            raise argparse.ArgumentTypeError(f"{text} is out of range ({span})")
        return value

    return parse


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, TemplateFacts]:
    pre = Parser(add_help=False)
    pre.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    known, _ = pre.parse_known_args(argv)
    facts = read_template(known.template)
    t = facts.defaults

    parser = Parser(
        prog="scripts/cost.py",
        description=__doc__.split("\n", 1)[0],
        epilog=HELP_NOTES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--posts-per-second", type=bounded(float, 0), nargs="+", required=True,
                        metavar="N", help="posts the producer writes a second, averaged over the month (several: one column each)")
    parser.add_argument("--keywords", type=bounded(int, 1, 1000), default=1, metavar="K",
                        help="keywords the producer follows, named in MetricKeywords: each is its own EMF metrics, "
                             f"at most {MAX_METRIC_KEYWORDS} (the rest share one, (other)) (default 1)")
    parser.add_argument("--keywords-per-post", type=bounded(float, 1), metavar="M",
                        help="keywords a post matches on average, one item each "
                             f"(default 1 with one keyword, else {FIXTURE_KEYWORDS_PER_POST:.2f} as in the fixtures, at most K)")
    parser.add_argument("--retention-days", type=bounded(int, 0, 36500), default=t.get("RetentionDays", 0), metavar="D",
                        help="days an item lives in the table, 0 = forever (template: %(default)s)")
    parser.add_argument("--storage-months", type=bounded(float, 0), default=12, metavar="MONTHS",
                        help="with retention 0, price the table as it stands after this many months (default %(default)s)")
    parser.add_argument("--stream-mode", choices=["provisioned", "on-demand"],
                        default="on-demand" if t.get("StreamMode") == "ON_DEMAND" else "provisioned",
                        help="Kinesis capacity mode (template: %(default)s)")
    parser.add_argument("--shards", type=bounded(int, 1, 100000), metavar="S",
                        help=f"provisioned shards (template: {t.get('ShardCount', 1)}); with on-demand, the shards Lambda "
                             f"polls (default {ON_DEMAND_SHARDS}, a new on-demand stream's)")
    parser.add_argument("--stream-retention-hours", type=bounded(int, 24, 8760), default=t.get("StreamRetentionHours", 24),
                        metavar="H", help="hours Kinesis keeps a record (template: %(default)s)")
    parser.add_argument("--memory-mb", type=bounded(int, 128, 10240), default=t.get("FunctionMemoryMB", 256), metavar="MB",
                        help="function memory (template: %(default)s)")
    parser.add_argument("--architecture", choices=sorted(LAMBDA_GB_SECOND), default=t.get("Architecture", "arm64"),
                        help="function architecture (template: %(default)s)")
    parser.add_argument("--batch-size", type=bounded(int, 1, 10000), default=t.get("BatchSize", 100), metavar="N",
                        help="most records per invocation (template: %(default)s)")
    parser.add_argument("--batching-window", type=bounded(float, 0, 300), metavar="SECONDS",
                        default=t.get("MaximumBatchingWindowInSeconds", 5),
                        help="MaximumBatchingWindowInSeconds (template: %(default)s)")
    parser.add_argument("--parallelization-factor", type=bounded(int, 1, 10), default=t.get("ParallelizationFactor", 1),
                        metavar="N", help="concurrent batches per shard (template: %(default)s)")
    parser.add_argument("--log-retention-days", type=bounded(int, 1, 3653), default=t.get("LogRetentionDays", 30),
                        metavar="DAYS", help="days CloudWatch Logs keeps the function's log (template: %(default)s)")
    parser.add_argument("--write-latency-ms", type=bounded(float, 0, 60000), default=WRITE_ROUND_TRIP_MS, metavar="MS",
                        help="one BatchWriteItem round trip, an assumption (default %(default)s)")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE, help="the template to read (default: the repository's)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args(argv)
    if args.keywords_per_post is None:
        args.keywords_per_post = 1.0 if args.keywords == 1 else min(FIXTURE_KEYWORDS_PER_POST, args.keywords)
    if args.keywords_per_post > args.keywords:
        raise InputError(f"--keywords-per-post {args.keywords_per_post:g} is more than --keywords {args.keywords}")
    if args.shards is None:
        args.shards = int(t.get("ShardCount", 1)) if args.stream_mode == "provisioned" else ON_DEMAND_SHARDS
    return args, facts


def deployment(args: argparse.Namespace, facts: TemplateFacts) -> Deployment:
    return Deployment(
        keywords=args.keywords,
        keywords_per_post=args.keywords_per_post,
        retention_days=args.retention_days,
        storage_months=args.storage_months,
        stream_mode=args.stream_mode,
        shards=args.shards,
        stream_retention_hours=args.stream_retention_hours,
        memory_mb=args.memory_mb,
        architecture=args.architecture,
        batch_size=args.batch_size,
        batching_window_seconds=args.batching_window,
        parallelization_factor=args.parallelization_factor,
        log_retention_days=args.log_retention_days,
        write_latency_ms=args.write_latency_ms,
        table_billing_mode=facts.table_billing_mode,
        point_in_time_recovery=facts.point_in_time_recovery,
        alarms=facts.alarms,
        dashboards=facts.dashboards,
    )


def main(argv: list[str] | None = None) -> int:
    try:
        args, facts = parse_args(argv)
        d = deployment(args, facts)
        estimates = [estimate(rate, d) for rate in args.posts_per_second]
    except InputError as error:
        print(f"cost.py: error: {error}", file=sys.stderr)
        return 2
    for warning in dict.fromkeys(w for e in estimates for w in e["warnings"]):
        print(f"cost.py: warning: {warning}", file=sys.stderr)
    print(as_json(estimates, d) if args.json else table(estimates, d))
    return 0


if __name__ == "__main__":
    sys.exit(main())
