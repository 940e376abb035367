#!/usr/bin/env python3
"""Prints what a Kinesis stream holds, decoded from the producer's record format."""
import base64
import collections
import json
import sys

import boto3


def main() -> int:
    if len(sys.argv) != 2:
        sys.exit("usage: show_stream.py STREAM_NAME")
    stream = sys.argv[1]
    kinesis = boto3.client("kinesis")
    records = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            records.extend(page["Records"])
            iterator = page.get("NextShardIterator") if page["Records"] else None
    by_keyword = collections.Counter()
    print(f"{len(records)} records in Kinesis stream {stream}")
    for i, record in enumerate(records):
        data = record["Data"]
        decoded = json.loads(data if isinstance(data, (bytes, str)) else base64.b64decode(data))
        by_keyword.update(decoded["keywords"])
        if i < 5:
            post = decoded["post"]["data"]
            text = post.get("note_tweet", {}).get("text") or post.get("text", "")
            print(f"  v{decoded['v']} {decoded['id']} {decoded['keywords']}: {text[:70]!r}")
    for keyword, count in by_keyword.most_common():
        print(f"  keyword {keyword!r}: {count} posts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
