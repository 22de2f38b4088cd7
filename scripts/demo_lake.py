#!/usr/bin/env python3
"""Puts a generated sample lake into local S3 the way Security Lake lays it
out, and announces every object on a local SQS queue with the message
Security Lake puts on a subscriber's queue: source "aws.s3", time, account,
region, resources and detail.bucket.name, detail.object.{key,size,etag},
detail.request-id, detail.requester "securitylake.amazonaws.com" (no
detail-type, version or id). Shape: tests/fixtures/notifications/README.md
(elastic/beats issue 36630, Data Prepper's S3EventBridgeNotificationParserTest).

Usage: demo_lake.py ENDPOINT LAKE_DIR BUCKET QUEUE  (prints the queue URL)
Uses boto3 from the project's .venv (installed with moto).
"""
import datetime
import json
import pathlib
import sys
import uuid

import boto3


def notification(bucket, key, size, etag):
    """The message Security Lake puts on a subscriber's queue for one new
    object (etag with or without its quotes)."""
    return {
        "source": "aws.s3",
        "time": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "account": "111122223333",
        "region": "us-east-1",
        "resources": [f"arn:aws:s3:::{bucket}"],
        "detail": {
            "bucket": {"name": bucket},
            "object": {"key": key, "size": size, "etag": etag.strip('"')},
            "request-id": uuid.uuid4().hex[:16].upper(),
            "requester": "securitylake.amazonaws.com",
        },
    }


def main():
    endpoint, lake_dir, bucket, queue = sys.argv[1:5]
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    s3 = session.client("s3", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)
    s3.create_bucket(Bucket=bucket)
    queue_url = sqs.create_queue(QueueName=queue, Attributes={"VisibilityTimeout": "900"})["QueueUrl"]
    root = pathlib.Path(lake_dir)
    files = sorted(root.rglob("*.parquet"))
    for path in files:
        key = path.relative_to(root).as_posix()
        body = path.read_bytes()
        put = s3.put_object(Bucket=bucket, Key=key, Body=body)
        message = notification(bucket, key, len(body), put["ETag"])
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(message))
    print(f"demo_lake.py: {len(files)} objects in s3://{bucket}/, {len(files)} notifications on {queue_url}", file=sys.stderr)
    print(queue_url)


if __name__ == "__main__":
    main()
