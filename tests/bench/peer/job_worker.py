"""The benchmark's batch peer: Skiff's SQS job worker written the way a Python team
would write it with Powertools for AWS Lambda (BatchProcessor, partial batch
responses), run under awslambdaric like a Python Lambda function. Per message it
does what the Rust worker does for an echo job, against the same moto table and
topic: a consistent read of the job, a conditional move to running, the echo
result, a conditional move to succeeded, and the job.succeeded event to SNS (with
the message's correlation id and its type as a message attribute). It also tells
its operator what the Rust worker does: a log line when an attempt starts and one
when the job finishes, and one EMF metrics document per invocation (Powertools'
Metrics: JobsSucceeded per job, BatchItemFailures, ColdStart).
`make bench` compares the CPU time each side spends on the same batches, which
leaves the backend round trips out of both.
"""

import json
import os
import time
import uuid

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
metrics = Metrics(namespace="Skiff")
processor = BatchProcessor(event_type=EventType.SQS)

table = boto3.resource("dynamodb").Table(os.environ["SKIFF_TABLE"])
sns = boto3.client("sns")
TOPIC = os.environ["SKIFF_EVENTS_TOPIC_ARN"]


class Busy(Exception):
    """Another delivery moved the job first: let SQS deliver this one again."""


def now_ms() -> int:
    return int(time.time() * 1000)


def record_handler(record: SQSRecord) -> None:
    message = json.loads(record.body)
    key = {"pk": f"USER#{message['user_id']}", "sk": f"JOB#{message['job_id']}"}
    job = table.get_item(Key=key, ConsistentRead=True).get("Item")
    if job is None or job["status"] in ("succeeded", "failed"):
        return
    attempts = int(job["attempts"])
    try:
        table.update_item(
            Key=key,
            UpdateExpression="SET #s = :running, attempts = :next, updated_at = :now",
            ConditionExpression="#s = :was AND attempts = :attempts",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":running": "running", ":next": attempts + 1, ":now": now_ms(),
                                       ":was": job["status"], ":attempts": attempts},
        )
    except table.meta.client.exceptions.ConditionalCheckFailedException as e:
        raise Busy(message["job_id"]) from e
    logger.info("job attempt started", extra={"job_id": message["job_id"], "kind": job["kind"],
                                              "attempt": attempts + 1})
    result = json.loads(job["input"])  # echo: the input is the result
    finished = now_ms()
    table.update_item(
        Key=key,
        UpdateExpression="SET #s = :done, #r = :result, updated_at = :now",
        ConditionExpression="#s = :running AND attempts = :attempts",
        ExpressionAttributeNames={"#s": "status", "#r": "result"},
        ExpressionAttributeValues={":done": "succeeded", ":result": json.dumps(result), ":now": finished,
                                   ":running": "running", ":attempts": attempts + 1},
    )
    # The message's correlation id travels on in the event, a new one if it has none;
    # the type goes in a message attribute too, for subscribers' filters.
    event = {"type": "job.succeeded", "user_id": message["user_id"], "occurred_at": finished,
             "job_id": message["job_id"],
             "correlation_id": message.get("correlation_id") or str(uuid.uuid4())}
    sns.publish(TopicArn=TOPIC, Message=json.dumps(event),
                MessageAttributes={"type": {"DataType": "String", "StringValue": event["type"]}})
    logger.info("job finished", extra={"job_id": message["job_id"], "status": "succeeded",
                                       "attempts": attempts + 1})
    metrics.add_metric(name="JobsSucceeded", unit=MetricUnit.Count, value=1)


@metrics.log_metrics(capture_cold_start_metric=True)
@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    response = process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                        context=context)
    metrics.add_metric(name="BatchItemFailures", unit=MetricUnit.Count,
                       value=len(response["batchItemFailures"]))
    return response
