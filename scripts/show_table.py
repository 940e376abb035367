#!/usr/bin/env python3
"""Prints the newest posts for a keyword and its counts by language, from the EventData table.

Reads through the ByKeyword index (no Scan). A stand-in until the query tool exists.
"""
import collections
import sys

import boto3


def main() -> int:
    if len(sys.argv) != 3:
        sys.exit("usage: show_table.py TABLE_NAME KEYWORD")
    table, keyword = sys.argv[1:]
    dynamodb = boto3.client("dynamodb")
    items = []
    pages = dynamodb.get_paginator("query").paginate(
        TableName=table,
        IndexName="ByKeyword",
        KeyConditionExpression="#k = :k",
        ExpressionAttributeNames={"#k": "Keyword"},
        ExpressionAttributeValues={":k": {"S": keyword}},
        ScanIndexForward=False,
    )
    for page in pages:
        items.extend(page["Items"])
    if not items:
        print(f"no posts for keyword {keyword!r} in {table}")
        return 0
    print(f"{len(items)} posts for keyword {keyword!r} in {table}; the newest:")
    for item in items[:5]:
        full = dynamodb.get_item(
            TableName=table,
            Key={"Id": item["Id"], "Keyword": item["Keyword"]},
            ProjectionExpression="#t, Username, Message",
            ExpressionAttributeNames={"#t": "Timestamp"},
        )["Item"]
        text = " ".join(full.get("Message", {}).get("S", "").split())
        user = full.get("Username", {}).get("S", "?")
        print(f"  {full['Timestamp']['S']}  @{user}: {text[:70]}")
    by_lang = collections.Counter(i.get("Lang", {}).get("S", "?") for i in items)
    print("by language: " + ", ".join(f"{lang} {n}" for lang, n in by_lang.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
