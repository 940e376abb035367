#!/usr/bin/env python3
"""The producer's peer in the benchmark: a boto3 producer written the way the systems this project
replaces were, one Kinesis `put_record` call per post, no spool.

It reads the X filtered stream at TWITTER_API_URL with TWITTER_BEARER_TOKEN, decodes each line,
skips keep-alives and anything without `data.id`, and puts the line under the post id into
AWS_STREAM_NAME, until POSTS posts were put. It prints the count written. The benchmark measures
its CPU time (user + system, from wait4) the same way as twitter-producer's; it also prints, as
JSON, the CPU it spent from the first post on, since importing boto3 alone costs about a second.
"""
import http.client
import json
import time
import os
import sys
import urllib.parse

import boto3


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        sys.exit("usage: boto3_producer.py POSTS")
    limit = int(sys.argv[1])
    url = urllib.parse.urlsplit(os.environ["TWITTER_API_URL"])
    kinesis = boto3.client("kinesis")
    stream = os.environ["AWS_STREAM_NAME"]
    connection = http.client.HTTPConnection(url.hostname, url.port)
    connection.request("GET", "/2/tweets/search/stream?expansions=author_id",
                       headers={"Authorization": f"Bearer {os.environ['TWITTER_BEARER_TOKEN']}"})
    response = connection.getresponse()
    if response.status != 200:
        sys.exit(f"error: the stream answered {response.status}")
    written = 0
    first_post_cpu = None
    while written < limit:
        line = response.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        post = json.loads(line)
        post_id = post.get("data", {}).get("id")
        if not isinstance(post_id, str):
            continue
        if first_post_cpu is None:
            first_post_cpu = time.process_time()
        kinesis.put_record(StreamName=stream, Data=line, PartitionKey=post_id)
        written += 1
    after_start = time.process_time() - (first_post_cpu or 0)
    print(json.dumps({"written": written, "cpu_seconds_from_first_post": after_start}))
    return 0 if written == limit else 1


if __name__ == "__main__":
    sys.exit(main())
