"""The benchmark's peer: Skiff's `GET /session` written the way a Python team would
write it with Powertools for AWS Lambda, run under awslambdaric like a Python
Lambda function. Same work as the Rust session function: verify the RS256 access
token against the JWKS from the environment (parsed once, at init), read the session item from
the same DynamoDB table with a consistent read, check revocation and expiry,
answer JSON. `make bench` runs it against the same moto.
"""

import json
import os
import time

import boto3
import jwt
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.utilities.typing import LambdaContext

logger = Logger()
app = APIGatewayHttpResolver()

ISSUER = os.environ["SKIFF_ISSUER"].rstrip("/")
AUDIENCE = os.environ.get("SKIFF_AUDIENCE", "skiff")
IDLE_MS = 24 * 3600 * 1000
ABSOLUTE_MS = 30 * 24 * 3600 * 1000

table = boto3.resource("dynamodb").Table(os.environ["SKIFF_TABLE"])
KEYS = {key["kid"]: jwt.PyJWK(key).key for key in json.loads(os.environ["SKIFF_JWKS"])["keys"]}


def problem(status: int, title: str) -> Response:
    body = {"type": "/problems/unauthorized", "title": title, "status": status, "detail": title}
    return Response(status_code=status, content_type="application/problem+json", body=json.dumps(body),
                    headers={"WWW-Authenticate": "Bearer"})


@app.get("/session")
def get_session():
    header = app.current_event.headers.get("authorization", "")
    if not header.startswith("Bearer "):
        return problem(401, "missing bearer token")
    token = header[len("Bearer "):]
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        claims = jwt.decode(token, KEYS[kid], algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER,
                            leeway=5)
    except (KeyError, jwt.PyJWTError):
        return problem(401, "invalid token")
    item = table.get_item(Key={"pk": f"SESSION#{claims['sid']}", "sk": "SESSION"},
                          ConsistentRead=True).get("Item")
    now = int(time.time() * 1000)
    if item is None or item["revoked"]:
        return problem(401, "session ended")
    expires_at = min(int(item["last_extended_at"]) + IDLE_MS, int(item["created_at"]) + ABSOLUTE_MS)
    if now >= expires_at:
        return problem(401, "session expired")
    return {
        "session_id": item["session_id"],
        "user_id": item["user_id"],
        "data": json.loads(item["data"]),
        "version": int(item["version"]),
        "expires_at": expires_at,
    }


@logger.inject_lambda_context
def handler(event: dict, context: LambdaContext) -> dict:
    return app.resolve(event, context)
