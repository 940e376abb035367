#!/usr/bin/env python3
"""Producer throughput benchmark: N posts from the local X server into moto Kinesis.

Reports the producer process's own CPU time per post (user + system, from wait4, so neither
moto nor the X server is counted) and posts per PutRecords call. Build first:
    cargo build --release -p twitter-producer -p testkit
Run through scripts/bench.sh, which starts moto and sets AWS_ENDPOINT_URL.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--posts-per-second", type=int, default=0,
                        help="write posts at this pace, one post per write, as X does (0: as fast as the producer reads)")
    parser.add_argument("--producer-arg", action="append", default=[],
                        help="one more argument for twitter-producer, e.g. --producer-arg=--spool-sync-ms=1000")
    args = parser.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL"):
        sys.exit("error: AWS_ENDPOINT_URL is not set (run scripts/bench.sh)")

    stream = f"bench-{os.getpid()}"
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=args.shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})

    fixture = os.path.join(ROOT, "fixtures/x-stream/stream-2024-string-rule-ids.jsonl")
    fake_x = subprocess.Popen(
        [os.path.join(TARGET, "release/fake-x"), "--port", "0", "--count", str(args.posts), fixture]
        + (["--posts-per-second", str(args.posts_per_second)] if args.posts_per_second else []),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        ready = fake_x.stdout.readline().strip()
        if not ready.startswith("fake-x listening on "):
            sys.exit(f"error: fake-x did not start: {ready!r}")
        base_url = ready.removeprefix("fake-x listening on ")
        with tempfile.TemporaryDirectory() as state:
            stats_file = os.path.join(state, "stats.json")
            env = dict(os.environ, AWS_STREAM_NAME=stream, TWITTER_BEARER_TOKEN="test-bearer-token",
                       TWITTER_API_URL=base_url, TWITTER_PRODUCER_STATS_FILE=stats_file,
                       TWITTER_PRODUCER_SPOOL_DIR=os.path.join(state, "spool"), RUST_LOG="warn")
            started = time.monotonic()
            producer = subprocess.Popen(
                [os.path.join(TARGET, "release/twitter-producer"), "--max-tweets", str(args.posts), *args.producer_arg, "tokio"],
                env=env,
            )
            _, status, usage = os.wait4(producer.pid, 0)
            wall = time.monotonic() - started
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"error: producer exited with {os.waitstatus_to_exitcode(status)}")
            with open(stats_file) as f:
                totals = json.load(f)["totals"]
    finally:
        fake_x.terminate()
        fake_x.wait()

    written = totals["posts_written"]
    calls = totals["put_records_calls"]
    cpu = usage.ru_utime + usage.ru_stime
    print(json.dumps({
        "mode": f"{args.posts_per_second} posts/s, one post per write" if args.posts_per_second else "saturation",
        "posts_written": written,
        "put_records_calls": calls,
        "posts_per_call": round(written / calls, 1),
        "producer_cpu_seconds": round(cpu, 3),
        "cpu_us_per_post": round(cpu / written * 1e6, 2),
        "max_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "wall_seconds": round(wall, 2),
        "posts_per_second": round(written / wall),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
