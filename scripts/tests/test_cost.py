"""scripts/cost.py: its arithmetic against cases worked out by hand, its inputs against the
template and the measurements they come from, and its command line.

Each expected figure is written out as the arithmetic (prices by their constant in the script's
price table, quantities worked out by hand in the comments), never taken from the function
under test.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import math
import re
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent
REPO = SCRIPTS.parent
sys.path.insert(0, str(SCRIPTS))
import cost  # noqa: E402  (scripts/cost.py)

GIB = 2**30
MONTH_SECONDS = 730 * 3600  # 2,628,000

# The template's defaults, spelled out: 1 keyword, items kept forever (priced after 12 months),
# one provisioned shard, 24 h in the stream, 256 MB arm64, batches of 100 within 5 s.
BASE = cost.Deployment(
    keywords=1,
    keywords_per_post=1.0,
    retention_days=0,
    storage_months=12,
    stream_mode="provisioned",
    shards=1,
    stream_retention_hours=24,
    memory_mb=256,
    architecture="arm64",
    batch_size=100,
    batching_window_seconds=5,
    parallelization_factor=1,
    log_retention_days=30,
    write_latency_ms=10.0,
    table_billing_mode="PAY_PER_REQUEST",
    point_in_time_recovery=True,
    alarms=5,  # iterator age, errors, throttles, dead letters, failed batches
    dashboards=1,
)


def lines(result: dict) -> dict[str, float]:
    return {line.item: line.usd for line in result["lines"]}


def quantities(result: dict) -> dict[str, float]:
    return {line.item: line.quantity for line in result["lines"]}


class HandComputed(unittest.TestCase):
    def assertLines(self, result: dict, expected: dict[str, float]):
        got = lines(result)
        self.assertEqual(set(got), set(expected))
        for item, usd in expected.items():
            self.assertAlmostEqual(got[item], usd, places=9, msg=item)
        self.assertAlmostEqual(result["total_usd"], sum(expected.values()), places=9)

    def test_one_post_a_second_with_the_template_defaults(self):
        r = cost.estimate(1, BASE)
        # 2,628,000 posts. One shard, a 5 s window, 5 records each: 525,600 invocations.
        # 5 items -> 1 BatchWriteItem -> 1 round trip: 5 * 0.036 + 10 = 10.18 ms, billed 11 ms.
        self.assertEqual(r["posts_per_month"], 2_628_000)
        self.assertEqual(r["invocations_per_month"], 525_600)
        self.assertEqual(r["billed_ms_per_invocation"], 11)
        # 12 months of items: 2,628,000 * 12 = 31,536,000 items; table 914 + 100 bytes each,
        # index entry 224.
        items_kept = 31_536_000
        log_bytes = 525_600 * (71 + 52 + 141 + 153 + 573 + 322)  # one keyword line
        self.assertLines(r, {
            "shard-hours": 730 * cost.KINESIS_SHARD_HOUR.usd,  # 10.95
            "PUT payload units": 2_628_000 * cost.KINESIS_PUT_UNIT.usd,  # 0.037
            "requests": 525_600 * cost.LAMBDA_REQUEST.usd,  # 0.105
            "duration (GB-s, 256 MB)": 525_600 * 0.011 * 0.25 * cost.LAMBDA_GB_SECOND["arm64"].usd,  # 1,445.4 GB-s
            "write request units": 2_628_000 * 2.28 * cost.DYNAMODB_WRITE_UNIT.usd,  # 5,991,840 units
            "storage, table and index (GB-month)": items_kept * 1238 / GIB * cost.DYNAMODB_STORAGE.usd,
            "point-in-time recovery (GB-month)": items_kept * 1014 / GIB * cost.DYNAMODB_PITR.usd,
            "logs ingested (GB)": log_bytes / GIB * cost.CLOUDWATCH_LOG_INGESTION.usd,
            "logs stored (GB-month)": log_bytes / GIB * 30 / (730 / 24) * cost.CLOUDWATCH_LOG_STORAGE.usd,
            "custom metrics (EMF)": (7 + 2) * cost.CLOUDWATCH_METRIC.usd,  # totals + one keyword's two
            "alarms": 5 * cost.CLOUDWATCH_ALARM.usd,
            "dashboard": 1 * cost.CLOUDWATCH_DASHBOARD.usd,
        })
        self.assertAlmostEqual(r["usd_per_million_posts"], r["total_usd"] / 2.628)
        self.assertAlmostEqual(r["x_api_usd"], 2_628_000 * 0.005)

    def test_a_hundred_posts_a_second_fills_every_batch(self):
        r = cost.estimate(100, BASE)
        # 500 records a window > 100: one full batch a second, 2,628,000 invocations.
        # 100 items -> 4 requests -> 1 round trip of 4 in flight: 3.6 + 10 = 13.6 ms, billed 14.
        self.assertEqual(r["invocations_per_month"], 2_628_000)
        self.assertEqual(r["records_per_invocation"], 100)
        self.assertEqual(r["billed_ms_per_invocation"], 14)
        got = lines(r)
        self.assertAlmostEqual(got["requests"], 2_628_000 * 0.20 / 1e6)
        self.assertAlmostEqual(got["duration (GB-s, 256 MB)"], 2_628_000 * 0.014 * 0.25 * 0.0000133334)
        self.assertAlmostEqual(got["write request units"], 262_800_000 * 2.28 * 0.625 / 1e6)  # 374.49
        self.assertAlmostEqual(got["PUT payload units"], 262_800_000 * 0.014 / 1e6)

    def test_low_rates_make_one_invocation_per_window(self):
        # 0.1 post/s with a 5 s window: a window holds 0.5 records, so every post is its own batch.
        self.assertAlmostEqual(cost.estimate(0.1, BASE)["invocations_per_month"], 262_800)
        # 1 post/s with the old 1 s window: one invocation per post.
        one_second = dataclasses.replace(BASE, batching_window_seconds=1)
        self.assertAlmostEqual(cost.estimate(1, one_second)["invocations_per_month"], 2_628_000)
        # With no window Lambda still polls a shard once a second: 10 posts/s -> 10 records each.
        no_window = dataclasses.replace(BASE, batching_window_seconds=0)
        self.assertAlmostEqual(cost.estimate(10, no_window)["invocations_per_month"], 2_628_000)
        # Two shards poll separately: twice the invocations at a rate that fills no batch.
        self.assertAlmostEqual(cost.estimate(1, dataclasses.replace(BASE, shards=2))["invocations_per_month"], 1_051_200)

    def test_on_demand_thirty_day_retention_three_keywords(self):
        d = dataclasses.replace(BASE, stream_mode="on-demand", shards=4, keywords=3, keywords_per_post=1.5,
                                retention_days=30, stream_retention_hours=48)
        r = cost.estimate(10, d)
        # 26,280,000 posts. 4 pollers of 2.5 posts/s: 12.5 records per 5 s window, one
        # invocation per window each: 0.8 a second, 2,102,400 a month.
        # 18.75 items -> 1 request: 12.5 * 0.036 + 10 = 10.45 ms, billed 11.
        self.assertAlmostEqual(r["invocations_per_month"], 2_102_400)
        self.assertEqual(r["billed_ms_per_invocation"], 11)
        items_kept = 10 * 1.5 * 30 * 86400  # 38,880,000
        log_bytes = 2_102_400 * (990 + 3 * 322)  # three keywords in every batch
        self.assertLines(r, {
            "stream-hours": 730 * cost.KINESIS_ON_DEMAND_STREAM_HOUR.usd,  # 29.20
            "data in (GB)": 26_280_000 * 2.85 * 1024 / GIB * cost.KINESIS_ON_DEMAND_IN.usd,
            "data out (GB)": 26_280_000 * 2448 / GIB * cost.KINESIS_ON_DEMAND_OUT.usd,
            # 24 h past the first day, at 10 records of 2.85 KiB a second
            "extended retention (GB-month)": 10 * 2.85 * 1024 * 24 * 3600 / GIB * cost.KINESIS_ON_DEMAND_EXTENDED_RETENTION.usd,
            "requests": 2_102_400 * cost.LAMBDA_REQUEST.usd,
            "duration (GB-s, 256 MB)": 2_102_400 * 0.011 * 0.25 * cost.LAMBDA_GB_SECOND["arm64"].usd,
            "write request units": 26_280_000 * 1.5 * 2.28 * cost.DYNAMODB_WRITE_UNIT.usd,
            "storage, table and index (GB-month)": items_kept * 1238 / GIB * cost.DYNAMODB_STORAGE.usd,
            "point-in-time recovery (GB-month)": items_kept * 1014 / GIB * cost.DYNAMODB_PITR.usd,
            "logs ingested (GB)": log_bytes / GIB * cost.CLOUDWATCH_LOG_INGESTION.usd,
            "logs stored (GB-month)": log_bytes / GIB * 30 / (730 / 24) * cost.CLOUDWATCH_LOG_STORAGE.usd,
            "custom metrics (EMF)": (7 + 2 * 3) * cost.CLOUDWATCH_METRIC.usd,
            "alarms": 5 * cost.CLOUDWATCH_ALARM.usd,
            "dashboard": 1 * cost.CLOUDWATCH_DASHBOARD.usd,
        })

    def test_provisioned_retention_past_a_week(self):
        d = dataclasses.replace(BASE, shards=2, stream_retention_hours=200, architecture="x86_64", memory_mb=512)
        r = cost.estimate(1, d)
        got = lines(r)
        self.assertAlmostEqual(got["shard-hours"], 2 * 730 * 0.015)
        self.assertAlmostEqual(got["extended retention (shard-hours)"], 2 * 730 * cost.KINESIS_EXTENDED_RETENTION_SHARD_HOUR.usd)
        # 32 hours past 7 days at 1 record of 2,448 bytes a second.
        self.assertAlmostEqual(got["long-term retention (GB-month)"], 2448 * 32 * 3600 / GIB * cost.KINESIS_LONG_TERM_RETENTION.usd)
        # Two pollers of 0.5 post/s, one invocation per 5 s window each: 0.4 a second, 1,051,200
        # of 2.5 records; 0.09 + 10 ms -> 11 ms billed at 0.5 GB.
        self.assertAlmostEqual(r["invocations_per_month"], 1_051_200)
        self.assertAlmostEqual(got["duration (GB-s, 512 MB)"], 1_051_200 * 0.011 * 0.5 * cost.LAMBDA_GB_SECOND["x86_64"].usd)

    def test_fixed_costs_before_the_first_post(self):
        r = cost.estimate(0, BASE)
        self.assertAlmostEqual(r["total_usd"], 730 * 0.015 + 9 * 0.30 + 5 * 0.10 + 3.00)  # 17.15
        self.assertIsNone(r["usd_per_million_posts"])
        on_demand = cost.estimate(0, dataclasses.replace(BASE, stream_mode="on-demand", shards=4))
        self.assertAlmostEqual(lines(on_demand)["stream-hours"], 29.20)

    def test_keyword_metrics_up_to_the_cap_are_one_set_per_keyword(self):
        r = cost.estimate(100, dataclasses.replace(BASE, keywords=20, keywords_per_post=1.42))
        self.assertEqual(quantities(r)["custom metrics (EMF)"], 7 + 2 * 20)

    def test_keyword_metrics_beyond_the_cap_are_the_cap_and_other(self):
        r = cost.estimate(100, dataclasses.replace(BASE, keywords=25, keywords_per_post=1.42))
        # 20 keywords named in MetricKeywords and "(other)" for the 5 left, however long it runs.
        self.assertEqual(quantities(r)["custom metrics (EMF)"], 7 + 2 * (20 + 1))
        # 100 records of 1.42 keywords in a batch: 21 keyword lines at most.
        log_bytes = 2_628_000 * (990 + 21 * 322)
        self.assertAlmostEqual(quantities(r)["logs ingested (GB)"], log_bytes / GIB)

    def test_without_point_in_time_recovery_there_is_no_such_line(self):
        r = cost.estimate(1, dataclasses.replace(BASE, point_in_time_recovery=False))
        self.assertNotIn("point-in-time recovery (GB-month)", lines(r))

    def test_a_provisioned_table_is_refused(self):
        with self.assertRaisesRegex(cost.InputError, "only on-demand"):
            cost.estimate(1, dataclasses.replace(BASE, table_billing_mode="PROVISIONED"))

    def test_capacity(self):
        # One X connection's most, 250 posts/s of 2,448 bytes (612,000 B/s), fits one shard.
        self.assertEqual(cost.estimate(250, BASE)["warnings"], [])
        # 500 posts/s is 1,224,000 B/s: more than one shard's 1,048,576.
        (warning,) = cost.estimate(500, BASE)["warnings"]
        self.assertIn("needs 2 shards", warning)
        self.assertEqual(cost.estimate(500, dataclasses.replace(BASE, shards=2))["warnings"], [])
        # 2,500 small posts/s would also pass 1,000 records/s per shard three times over.
        self.assertEqual(cost.shards_needed(2500), 6)  # 2500 * 2448 / 1048576 = 5.84 -> 6


class Inputs(unittest.TestCase):
    """What the script takes from elsewhere is what is there."""

    def test_template_reader_agrees_with_yaml(self):
        try:
            sys.path.insert(0, str(SCRIPTS))
            import check_template
        except ImportError:
            self.skipTest("scripts/check_template.py not importable")
        try:
            import yaml  # noqa: F401
        except ImportError:
            self.skipTest("PyYAML not installed (cfn-lint brings it)")
        template = check_template.load_template(cost.DEFAULT_TEMPLATE)
        facts = cost.read_template(cost.DEFAULT_TEMPLATE)
        expected = {name: spec["Default"] for name, spec in template["Parameters"].items() if "Default" in spec}
        self.assertEqual(facts.defaults, expected)
        kinds = [r["Type"] for r in template["Resources"].values()]
        self.assertEqual(facts.alarms, kinds.count("AWS::CloudWatch::Alarm"))
        self.assertEqual(facts.dashboards, kinds.count("AWS::CloudWatch::Dashboard"))
        table = template["Resources"]["EventDataTable"]["Properties"]
        self.assertEqual(facts.table_billing_mode, table["BillingMode"])
        self.assertEqual(facts.point_in_time_recovery, table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"])

    def test_base_case_is_the_template_default(self):
        facts = cost.read_template(cost.DEFAULT_TEMPLATE)
        t = facts.defaults
        self.assertEqual(
            (t["StreamMode"], t["ShardCount"], t["StreamRetentionHours"], t["FunctionMemoryMB"], t["Architecture"],
             t["BatchSize"], t["MaximumBatchingWindowInSeconds"], t["ParallelizationFactor"], t["LogRetentionDays"],
             t["RetentionDays"]),
            ("PROVISIONED", BASE.shards, BASE.stream_retention_hours, BASE.memory_mb, BASE.architecture,
             BASE.batch_size, BASE.batching_window_seconds, BASE.parallelization_factor, BASE.log_retention_days,
             BASE.retention_days),
        )
        self.assertEqual((facts.table_billing_mode, facts.point_in_time_recovery, facts.alarms, facts.dashboards),
                         (BASE.table_billing_mode, BASE.point_in_time_recovery, BASE.alarms, BASE.dashboards))

    def test_record_sizes_from_the_fixtures(self):
        # The record format (record/src/lib.rs): the header object, then "post" holding the line.
        sizes = []
        for path in sorted(glob.glob(str(REPO / "fixtures" / "x-stream" / "*.jsonl"))):
            for line in Path(path).read_text(encoding="utf-8").split("\n"):
                line = line.rstrip("\r")
                try:
                    post = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(post, dict) or not isinstance(post.get("data"), dict) or not post["data"].get("id"):
                    continue
                tags = [r["tag"] for r in post.get("matching_rules", []) if r.get("tag")]
                header = json.dumps({"v": 1, "source": "x", "id": post["data"]["id"], "keywords": tags,
                                     "received_at": "2026-11-23T16:40:00.123456789Z"},
                                    separators=(",", ":"), ensure_ascii=False)
                sizes.append(len((header[:-1] + ',"post":' + line + "}").encode()))
        self.assertEqual(len(sizes), 67)
        self.assertEqual(round(sum(sizes) / len(sizes)), cost.RECORD_BYTES)
        self.assertAlmostEqual(sum(math.ceil(s / 1024) for s in sizes) / len(sizes), cost.RECORD_BILLED_KIB, places=2)
        self.assertEqual(max(math.ceil(s / (25 * 1024)) for s in sizes), cost.PUT_UNITS_PER_RECORD)

    def test_measured_item_figures_are_the_documented_ones(self):
        readme = (REPO / "consumer" / "README.md").read_text()

        def mean(row: str) -> float:
            match = re.search(rf"^\| {re.escape(row)} \|(?: [^|]+ \|){{4}} ([0-9.]+) \|$", readme, re.M)
            self.assertIsNotNone(match, row)
            return float(match.group(1))

        self.assertEqual(mean("item (bytes), codec 2"), cost.ITEM_BYTES)
        self.assertEqual(mean("index entry (bytes, incl. 100 overhead)"), cost.INDEX_ENTRY_BYTES)
        self.assertEqual(mean("write units per item, base + index, codec 2"), cost.WRITE_UNITS_PER_ITEM)
        top = (REPO / "README.md").read_text()
        handler = re.search(r"^\| consumer handler CPU per record, 500-record batch \| ([0-9.]+) µs", top, re.M)
        self.assertIsNotNone(handler)
        self.assertAlmostEqual(float(handler.group(1)) / 1000, cost.HANDLER_MS_PER_RECORD)
        items = re.search(r"\((\d+) posts, (\d+) items\)", top)
        self.assertEqual(int(items.group(2)) / int(items.group(1)), cost.FIXTURE_KEYWORDS_PER_POST)

    def test_consumer_limits_are_the_consumers(self):
        source = "\n".join(p.read_text() for p in (REPO / "consumer" / "src").rglob("*.rs"))
        for name, value in (("MAX_BATCH_WRITE_ITEMS", cost.MAX_BATCH_WRITE_ITEMS),
                            ("DEFAULT_CONCURRENT_WRITES", cost.DEFAULT_CONCURRENT_WRITES),
                            ("MAX_METRIC_KEYWORDS", cost.MAX_METRIC_KEYWORDS)):
            self.assertRegex(source, rf"const {name}: usize = {value};", name)

    def test_prices_are_dated_and_sourced(self):
        for name, price in cost.PRICES.items():
            self.assertRegex(price.date, r"^\d{4}-\d{2}-\d{2}$", name)
            self.assertTrue(price.source.startswith("https://"), name)
            self.assertGreater(price.usd, 0, name)


class CommandLine(unittest.TestCase):
    def run_cost(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(SCRIPTS / "cost.py"), *args], capture_output=True, text=True, timeout=60)

    def test_help(self):
        result = self.run_cost("--help")
        self.assertEqual(result.returncode, 0)
        for option in ("--posts-per-second", "--keywords", "--retention-days", "--stream-mode", "--shards", "--json"):
            self.assertIn(option, result.stdout)

    def test_table(self):
        result = self.run_cost("--posts-per-second", "1", "10", "100")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("$/month at 1 post/s", result.stdout)
        self.assertIn("$/month at 100 posts/s", result.stdout)
        self.assertRegex(result.stdout, r"(?m)^\| total .*\|$")
        self.assertIn(cost.latest_price_date(), result.stdout)

    def test_json_is_the_estimate(self):
        result = self.run_cost("--posts-per-second", "10", "--keywords", "2", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        out = json.loads(result.stdout)
        (e,) = out["estimates"]
        self.assertAlmostEqual(e["total_usd"], sum(line["monthly_usd"] for line in e["lines"]))
        self.assertEqual(out["deployment"]["keywords_per_post"], cost.FIXTURE_KEYWORDS_PER_POST)
        expected = cost.estimate(10, dataclasses.replace(BASE, keywords=2, keywords_per_post=cost.FIXTURE_KEYWORDS_PER_POST))
        self.assertAlmostEqual(e["total_usd"], expected["total_usd"])
        self.assertIn("kinesis_shard_hour", out["prices"])

    def test_options_reach_the_estimate(self):
        result = self.run_cost("--posts-per-second", "5", "--stream-mode", "on-demand", "--retention-days", "90",
                               "--batching-window", "2", "--memory-mb", "512", "--json")
        self.assertEqual(result.returncode, 0, result.stderr)
        d = json.loads(result.stdout)["deployment"]
        self.assertEqual((d["stream_mode"], d["shards"], d["retention_days"], d["batching_window_seconds"], d["memory_mb"]),
                         ("on-demand", cost.ON_DEMAND_SHARDS, 90, 2, 512))

    def test_bad_input_is_one_line_and_exit_2(self):
        for args, message in (
            (["--posts-per-second", "-1"], "out of range"),
            (["--posts-per-second", "many"], "not a number"),
            ([], "--posts-per-second"),
            (["--posts-per-second", "1", "--stream-mode", "fast"], "invalid choice"),
            (["--posts-per-second", "1", "--keywords", "2", "--keywords-per-post", "3"], "more than --keywords"),
            (["--posts-per-second", "1", "--template", "/no/such/template.yaml"], "cannot read the template"),
            (["--posts-per-second", "1", "--batching-window", "301"], "out of range"),
        ):
            result = self.run_cost(*args)
            self.assertEqual(result.returncode, 2, args)
            self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
            self.assertIn(message, result.stderr)
            self.assertEqual(result.stdout, "")

    def test_a_template_with_a_provisioned_table_is_refused(self):
        text = cost.DEFAULT_TEMPLATE.read_text().replace("BillingMode: PAY_PER_REQUEST", "BillingMode: PROVISIONED")
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write(text)
            f.flush()
            result = self.run_cost("--posts-per-second", "1", "--template", f.name)
        self.assertEqual(result.returncode, 2)
        self.assertIn("only on-demand", result.stderr)

    def test_the_readme_table_is_the_scripts(self):
        readme = (REPO / "README.md").read_text()
        command = "`scripts/cost.py --posts-per-second 1 10 100` prints:"
        self.assertIn(command, readme)
        after = readme.split(command, 1)[1].lstrip("\n")
        documented = after.split("\n\n", 1)[0]
        result = self.run_cost("--posts-per-second", "1", "10", "100")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(documented, result.stdout.split("\n\n", 1)[0], "README's cost table: rerun the command")

    def test_throttling_is_warned_about(self):
        result = self.run_cost("--posts-per-second", "500")
        self.assertEqual(result.returncode, 0)
        self.assertIn("warning: 500 posts/s needs 2 shards", result.stderr)


if __name__ == "__main__":
    unittest.main()
