#!/usr/bin/env python3
"""Does what Lambda's SQS event-source mappings do, for the emulated stack.

Usage: event_sources.py MAPPINGS_JSON MOTO_URL INVOKE_URL

For each mapping (written by provision.py from the template's SQS events) one
thread long-polls the queue, sends each batch to the function through
`cargo lambda watch`'s Invoke API (INVOKE_URL/2015-03-31/functions/NAME/invocations)
as an SQS event, then deletes what succeeded:
- with ReportBatchItemFailures, every message but the `batchItemFailures`;
- without it, all or nothing;
- a function error or an unreadable response fails the whole batch.
Failed messages stay on the queue: they come back after the visibility timeout,
and the queue's redrive policy moves them to the DLQ after maxReceiveCount
receives, exactly as on AWS. Runs until killed.
It polls with the credentials in its environment (the emulation's administrator when
moto enforces IAM): on AWS the Lambda service polls, with the poller permissions SAM
adds to every function that has an SQS event.
"""

import hashlib
import json
import os
import sys
import threading
import time

import boto3

from lambda_invoke import invoke

REGION = "us-east-1"
IDLE_POLL_SECONDS = 0.2


def sqs_event(messages, queue_arn):
    records = []
    for m in messages:
        records.append({
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {
                name: {"stringValue": v.get("StringValue"), "dataType": v.get("DataType")}
                for name, v in m.get("MessageAttributes", {}).items()
            },
            "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": REGION,
        })
    return {"Records": records}


def succeeded(messages, response, partial):
    """The messages to delete."""
    if response is None:
        return []
    if not partial:
        return messages
    failures = response.get("batchItemFailures") if isinstance(response, dict) else None
    if failures is None:
        return messages
    failed = {f.get("itemIdentifier") for f in failures}
    if failed - {m["MessageId"] for m in messages}:
        # An id that is not in the batch: Lambda treats the whole batch as failed.
        return []
    return [m for m in messages if m["MessageId"] not in failed]


def run(mapping, moto_url, invoke_url):
    sqs = boto3.client("sqs", endpoint_url=moto_url, region_name=REGION,
                       aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "test"),
                       aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "test"))
    while True:
        try:
            messages = sqs.receive_message(
                QueueUrl=mapping["queue_url"], MaxNumberOfMessages=mapping["batch_size"],
                WaitTimeSeconds=0, AttributeNames=["All"],
                MessageAttributeNames=["All"]).get("Messages", [])
        except Exception as e:  # moto restarting, say: keep polling like Lambda does
            print(f"event_sources: receive failed: {e}", file=sys.stderr, flush=True)
            time.sleep(1)
            continue
        if not messages:
            # Short polls: the test moto serialises requests, and a long poll would
            # hold every other client up for its whole wait.
            time.sleep(IDLE_POLL_SECONDS)
            continue
        response = invoke(invoke_url, mapping["function"], sqs_event(messages, mapping["queue_arn"]), "event_sources")
        done = succeeded(messages, response, mapping["report_batch_item_failures"])
        if done:
            sqs.delete_message_batch(QueueUrl=mapping["queue_url"], Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)])


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    mappings_path, moto_url, invoke_url = sys.argv[1:]
    mappings = json.load(open(mappings_path))
    threads = [threading.Thread(target=run, args=(m, moto_url, invoke_url), daemon=True) for m in mappings]
    for t in threads:
        t.start()
    print(f"event_sources: polling {len(threads)} queues", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
