#!/usr/bin/env python3
"""The consumer's peer in the benchmark: a Python boto3 Lambda handler doing twitter-consumer's job
the way the systems this project replaces did it.

For each record of a Kinesis event: base64-decode, parse the record, read the post's fields, one
item per post and keyword (the post line stored as it came, uncompressed), BatchWriteItem by 25
with boto3's TypeSerializer, and a partial batch response. DynamoDB is answered inside botocore
just before sending (after serialization and signing), as the Rust bench mocks the SDK at its
boundary: neither side pays for a network.

    boto3_consumer.py [--records N] [--runs K]

prints JSON: CPU per record (time.process_time over K runs of one N-record event) and the write
units per post of the peer's base-table items, priced by DynamoDB's item size rules.
"""
import argparse
import base64
import glob
import json
import math
import os
import time

import boto3
import botocore.awsrequest
from boto3.dynamodb.types import TypeSerializer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TABLE = "EventData"
RECEIVED_AT = "2026-01-02T03:04:05.678Z"
SERIALIZER = TypeSerializer()


def corpus():
    """Every post line of the X stream fixtures, with its matching rules' tags (as the Rust bench)."""
    posts = []
    for path in sorted(glob.glob(os.path.join(ROOT, "fixtures/x-stream/*.jsonl"))):
        with open(path, encoding="utf-8") as f:
            for line in f.read().split("\n"):
                line = line.rstrip("\r")
                try:
                    value = json.loads(line)
                except ValueError:
                    continue
                post_id = value.get("data", {}).get("id") if isinstance(value, dict) else None
                if not isinstance(post_id, str):
                    continue
                tags = [r["tag"] for r in value.get("matching_rules", []) if r.get("tag")]
                posts.append((post_id, tags, line))
    return posts


def event(n):
    posts = corpus()
    records = []
    for i in range(n):
        post_id, tags, line = posts[i % len(posts)]
        new_id = f"{post_id[:-4]}{i:04}"
        record = {"v": 1, "source": "x", "id": new_id, "keywords": tags, "received_at": RECEIVED_AT,
                  "post": json.loads(line.replace(post_id, new_id))}
        seq = f"4956816737333333333333333333333333333333333333333333{i:04}"
        records.append({"kinesis": {"sequenceNumber": seq, "partitionKey": "pk",
                                    "data": base64.b64encode(json.dumps(record).encode()).decode()}})
    return {"Records": records}


def items_of(record):
    post = record["post"]
    data = post["data"]
    includes = post.get("includes", {})
    users = {u["id"]: u for u in includes.get("users", [])}
    places = {p["id"]: p for p in includes.get("places", [])}
    user = users.get(data.get("author_id"), {})
    place = places.get((data.get("geo") or {}).get("place_id"), {})
    note = data.get("note_tweet") or {}
    entities = note.get("entities") or data.get("entities") or {}
    metrics = data.get("public_metrics") or {}
    base = {
        "Id": record["id"],
        "Timestamp": data.get("created_at") or record["received_at"],
        "Message": note.get("text") or data.get("text"),
        "AuthorId": data.get("author_id"),
        "Username": user.get("username"),
        "Name": user.get("name"),
        "Lang": data.get("lang"),
        "Country": place.get("country"),
        "CountryCode": place.get("country_code"),
        "Hashtags": list(dict.fromkeys(h["tag"] for h in entities.get("hashtags", []))),
        "Mentions": list(dict.fromkeys(m["username"] for m in entities.get("mentions", []))),
        "RetweetCount": metrics.get("retweet_count"),
        "LikeCount": metrics.get("like_count"),
        "ReplyCount": metrics.get("reply_count"),
        "QuoteCount": metrics.get("quote_count"),
        "ReceivedAt": record["received_at"],
        "Payload": json.dumps(post).encode(),
    }
    base = {k: v for k, v in base.items() if v not in (None, [])}
    return [dict(base, Keyword=k) for k in (dict.fromkeys(record["keywords"]) or ["(none)"])]


def handler(dynamodb, event):
    items, owners, failures = [], [], []
    for record in event["Records"]:
        sequence = record["kinesis"]["sequenceNumber"]
        try:
            decoded = json.loads(base64.b64decode(record["kinesis"]["data"]))
            for item in items_of(decoded):
                items.append(item)
                owners.append(sequence)
        except (ValueError, KeyError, TypeError):
            failures.append(sequence)
    for start in range(0, len(items), 25):
        chunk = items[start:start + 25]
        requests = [{"PutRequest": {"Item": {k: SERIALIZER.serialize(v) for k, v in item.items()}}}
                    for item in chunk]
        answer = dynamodb.batch_write_item(RequestItems={TABLE: requests})
        if answer.get("UnprocessedItems"):
            failures.append(owners[start])
    return {"batchItemFailures": [{"itemIdentifier": s} for s in sorted(failures)[:1]]}


def answer_locally(request, **_):
    """DynamoDB's answer to a BatchWriteItem that stored everything."""
    return botocore.awsrequest.AWSResponse(request.url, 200, {"x-amzn-RequestId": "bench"},
                                           _Raw(b'{"UnprocessedItems":{}}'))


class _Raw:
    def __init__(self, body):
        self.body = body

    def stream(self, **_):
        yield self.body


def item_size(item):
    """DynamoDB's item size: attribute names plus values (strings and binary by length, numbers by
    digits, lists 3 bytes plus 1 per element and their values)."""
    def value_size(v):
        if isinstance(v, bytes):
            return len(v)
        if isinstance(v, str):
            return len(v.encode())
        if isinstance(v, bool):
            return 1
        if isinstance(v, int):
            return math.ceil(len(str(abs(v))) / 2) + 1
        if isinstance(v, list):
            return 3 + sum(1 + value_size(e) for e in v)
        raise TypeError(type(v))
    return sum(len(k.encode()) + value_size(v) for k, v in item.items())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    dynamodb = boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="bench",
                            aws_secret_access_key="bench", endpoint_url="http://127.0.0.1:9")
    dynamodb.meta.events.register("before-send.dynamodb.BatchWriteItem", answer_locally)
    batch = event(args.records)
    handler(dynamodb, batch)  # warm up: imports, the client's first-call set-up
    started = time.process_time()
    for _ in range(args.runs):
        response = handler(dynamodb, batch)
    cpu = time.process_time() - started
    assert response == {"batchItemFailures": []}, response
    posts = {}
    for record in batch["Records"]:
        decoded = json.loads(base64.b64decode(record["kinesis"]["data"]))
        posts[decoded["id"]] = sum(math.ceil(item_size(i) / 1024) for i in items_of(decoded))
    units = sorted(posts.values())
    print(json.dumps({
        "records": args.records,
        "runs": args.runs,
        "cpu_us_per_record": round(cpu / (args.runs * args.records) * 1e6, 1),
        "write_units_per_post_median": units[len(units) // 2],
        "write_units_per_post_mean": round(sum(units) / len(units), 2),
    }, indent=2))


if __name__ == "__main__":
    main()
