#!/usr/bin/env python3
"""Producer benchmark: posts from the local X server into moto Kinesis, twitter-producer and its
boto3 peer side by side.

Each side gets its own fake-x and its own stream. Reported: the process's own CPU time per post
(user + system, from wait4, so neither moto nor the X server is counted), posts per PutRecords
call, and the peer's CPU per post over ours. Two modes: saturation (fake-x writes as fast as the
reader reads) and X's pace (--posts-per-second N: one post per write, as X delivers).

Both sides reach moto through testkit's kinesis-faults proxy, forwarding only: moto closes the
connection after every answer (`Connection: close`), where Kinesis keeps it open and both SDKs
pool it, so without the proxy every PutRecords would pay a TCP connection the real service never
asks for (--direct-to-moto measures that way).
Build first:
    cargo build --release -p twitter-producer -p testkit
Run through scripts/bench.sh, which starts moto and sets AWS_ENDPOINT_URL.
"""
import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
FIXTURE = os.path.join(ROOT, "fixtures/x-stream/stream-2024-string-rule-ids.jsonl")
PEER = os.path.join(ROOT, "scripts/peers/boto3_producer.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000, help="posts twitter-producer writes")
    parser.add_argument("--peer-posts", type=int, default=0,
                        help="posts the boto3 peer writes (0: no peer); it makes one call a post, so fewer suffice")
    parser.add_argument("--shards", type=int, default=1, help="shards of each stream (the template's default is one)")
    parser.add_argument("--posts-per-second", type=int, default=0,
                        help="write posts at this pace, one post per write, as X does (0: as fast as the reader reads)")
    parser.add_argument("--direct-to-moto", action="store_true",
                        help="no keep-alive proxy: a new connection per call, as moto asks")
    parser.add_argument("--producer-arg", action="append", default=[],
                        help="one more argument for twitter-producer, e.g. --producer-arg=--spool-sync-ms=1000")
    args = parser.parse_args()
    if not os.environ.get("AWS_ENDPOINT_URL"):
        sys.exit("error: AWS_ENDPOINT_URL is not set (run scripts/bench.sh)")

    mode = f"{args.posts_per_second} posts/s, one post per write" if args.posts_per_second else "saturation"
    with kinesis_endpoint(args.direct_to_moto) as endpoint:
        report = {"mode": mode, "kinesis": "moto, one connection per call" if args.direct_to_moto
                  else "moto behind a kept-alive proxy", "twitter_producer": run_producer(args, endpoint)}
        if args.peer_posts:
            report["boto3_peer"] = run_peer(args, endpoint)
    if args.peer_posts:
        ours = report["twitter_producer"]["cpu_us_per_post"]
        report["peer_cpu_over_ours"] = round(report["boto3_peer"]["cpu_us_per_post"] / ours, 1)
        report["peer_cpu_after_start_up_over_ours"] = round(
            report["boto3_peer"]["cpu_us_per_post_after_start_up"] / ours, 1)
    print(json.dumps(report, indent=2))
    return 0


def run_producer(args, endpoint: str) -> dict:
    with fake_x(args.posts, args.posts_per_second) as base_url, tempfile.TemporaryDirectory() as state:
        stream = new_stream(args.shards)
        stats_file = os.path.join(state, "stats.json")
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_STREAM_NAME=stream, TWITTER_BEARER_TOKEN="test-bearer-token",
                   TWITTER_API_URL=base_url, TWITTER_PRODUCER_STATS_FILE=stats_file,
                   TWITTER_PRODUCER_SPOOL_DIR=os.path.join(state, "spool"), RUST_LOG="warn")
        command = [os.path.join(TARGET, "release/twitter-producer"), "--max-tweets", str(args.posts),
                   *args.producer_arg, "tokio"]
        usage, wall, _ = measure(command, env, stdout=None)
        with open(stats_file) as f:
            totals = json.load(f)["totals"]
    written = totals["posts_written"]
    calls = totals["put_records_calls"]
    return figures(usage, wall, written) | {
        "put_records_calls": calls,
        "posts_per_call": round(written / calls, 1),
    }


def run_peer(args, endpoint: str) -> dict:
    with fake_x(args.peer_posts, args.posts_per_second) as base_url:
        stream = new_stream(args.shards)
        env = dict(os.environ, AWS_ENDPOINT_URL=endpoint, AWS_STREAM_NAME=stream, TWITTER_BEARER_TOKEN="test-bearer-token",
                   TWITTER_API_URL=base_url)
        usage, wall, out = measure([sys.executable, PEER, str(args.peer_posts)], env, stdout=subprocess.PIPE)
    steady = json.loads(out)["cpu_seconds_from_first_post"]
    return figures(usage, wall, args.peer_posts) | {
        "put_record_calls": args.peer_posts,
        "cpu_us_per_post_after_start_up": round(steady / args.peer_posts * 1e6, 2),
    }


def measure(command, env, stdout):
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, stdout=stdout)
    out = process.stdout.read() if process.stdout else b""
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"error: {os.path.basename(command[-2] if command[0] == sys.executable else command[0])} exited with {code}")
    return usage, wall, out


def figures(usage, wall, written) -> dict:
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "posts_written": written,
        "cpu_seconds": round(cpu, 3),
        "cpu_us_per_post": round(cpu / written * 1e6, 2),
        "max_rss_mib": round(usage.ru_maxrss / 1024, 1),
        # Each one is a sleep and a wake-up: at X's pace, the cost that is not per post.
        "context_switches_per_post": round((usage.ru_nvcsw + usage.ru_nivcsw) / written, 2),
        "wall_seconds": round(wall, 2),
        "posts_per_second": round(written / wall),
    }


def new_stream(shards: int) -> str:
    stream = f"bench-{os.getpid()}-{time.monotonic_ns()}"
    kinesis = boto3.client("kinesis")
    kinesis.create_stream(StreamName=stream, ShardCount=shards)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
    return stream


class testkit_server:
    """A testkit program that prints `NAME listening on URL`; its URL while inside."""

    def __init__(self, name: str, *args: str):
        self.name = name
        self.command = [os.path.join(TARGET, "release", name), *args]

    def __enter__(self) -> str:
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        ready = self.process.stdout.readline().strip()
        if not ready.startswith(f"{self.name} listening on "):
            self.process.kill()
            sys.exit(f"error: {self.name} did not start: {ready!r}")
        return ready.removeprefix(f"{self.name} listening on ")

    def __exit__(self, *_):
        self.process.terminate()
        self.process.wait()


def kinesis_endpoint(direct: bool):
    """The endpoint both sides write to: moto itself, or testkit's kinesis-faults in front of it."""
    moto = os.environ["AWS_ENDPOINT_URL"]
    return contextlib.nullcontext(moto) if direct else testkit_server("kinesis-faults", "--upstream", moto)


def fake_x(posts: int, pace: int) -> testkit_server:
    """A fake-x serving `posts` posts, at `pace` posts/s when set."""
    args = ["--port", "0", "--count", str(posts), FIXTURE]
    if pace:
        args += ["--posts-per-second", str(pace)]
    return testkit_server("fake-x", *args)


if __name__ == "__main__":
    sys.exit(main())
