"""The usual Python boto3 CloudFront invalidator, as a baseline for `make compare` (not product code).

What most S3 + CloudFront sites run, written the way the common tutorials write it: a
module-level boto3 client, one path per S3 record (URL-quoted), unwrapping SQS and SNS
envelopes, and chunks of 3,000 paths (the API's per-request limit) with a time-based
CallerReference. It is deliberately not improved: no index-document forms, no encoding
variants, no idempotent retries. It runs under the real Lambda Python runtime interface
client (`awslambdaric`), so start-up and memory are what a python3.x Lambda pays.
"""
import json
import os
import time
from urllib.parse import quote, unquote_plus

import boto3

cloudfront = boto3.client("cloudfront", endpoint_url=os.environ.get("CLOUDFRONT_ENDPOINT_URL") or None)
DISTRIBUTION_ID = os.environ["DISTRIBUTION_ID"]


def s3_records(event):
    for record in event.get("Records", []):
        if "body" in record:  # SQS
            yield from s3_records(json.loads(record["body"]))
        elif "Sns" in record:  # SNS
            yield from s3_records(json.loads(record["Sns"]["Message"]))
        elif "s3" in record:
            yield record


def handler(event, context):
    paths = sorted({quote("/" + unquote_plus(r["s3"]["object"]["key"])) for r in s3_records(event)})
    ids = []
    for start in range(0, len(paths), 3000):
        chunk = paths[start:start + 3000]
        response = cloudfront.create_invalidation(
            DistributionId=DISTRIBUTION_ID,
            InvalidationBatch={
                "Paths": {"Quantity": len(chunk), "Items": chunk},
                "CallerReference": f"{time.time()}-{start}",
            },
        )
        ids.append(response["Invalidation"]["Id"])
    return {"invalidations": ids, "paths": len(paths)}
