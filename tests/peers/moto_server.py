#!/usr/bin/env python3
"""moto's server with every request serialised, on keep-alive connections.

Usage: moto_server.py HOST PORT

moto's in-memory backends are not thread-safe: under concurrent TransactWriteItems
calls on one item it was seen to cancel a transaction with "RuntimeError: dictionary
changed size during iteration", which no real DynamoDB does. The real services are
linearisable per item, and the concurrency tests depend on exactly that, so one lock
around each request makes moto behave like the service it stands in for. Accepting
stays concurrent, so a slow client never blocks the others.

The server is waitress rather than moto's own (werkzeug's development server), which
answers every request with "Connection: close". AWS endpoints keep connections open
and every SDK pools them, so with werkzeug each call paid a TCP connection that it
never pays on AWS: the SQS batch benchmark counted those connects as client CPU
time, on both sides.

With IAM enforced (INITIAL_NO_AUTH_ACTION_COUNT), moto checks each request's SigV4
signature. For form-encoded requests (SNS, the query protocol) it signs again from
the parsed form, re-encoded its own way, because the raw body was consumed by form
parsing: a Rust SDK request whose message holds a space then fails with
SignatureDoesNotMatch, which AWS would accept. The raw body of the request being
served is kept (requests run one at a time) and moto signs that instead.

moto runs a state machine's service integrations (SQS, DynamoDB, SNS) by calling
itself over HTTP with the fixed key "ak". Under IAM that key exists for no one, and
every step would be refused. On AWS a state machine acts as its role: here "ak"
stands for the principal whose key id is in the file SKIFF_MOTO_STATE_MACHINE_KEY
names (infra/emulate/provision.py creates it from the state machine's `Policies` in
the template), and its requests, made inside this process, are not signature-checked.
"""

import io
import os
import sys
import threading

from moto.iam import access_control
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from waitress import serve

RAW_BODY = {"body": b""}


def sign_the_raw_body():
    create = access_control.IAMRequestBase._create_aws_request

    def create_from_raw(self):
        if not self._body and RAW_BODY["body"]:
            self._body = RAW_BODY["body"]
        return create(self)

    access_control.IAMRequestBase._create_aws_request = create_from_raw


def state_machines_act_as_their_role():
    key_file = os.environ.get("SKIFF_MOTO_STATE_MACHINE_KEY")
    if not key_file:
        return
    create = access_control.create_access_key
    check_signature = access_control.IAMRequestBase.check_signature

    def is_internal(access_key_id):
        return access_key_id == "ak" and os.path.exists(key_file)

    def create_as_role(account_id, partition, access_key_id, headers):
        if is_internal(access_key_id):
            with open(key_file) as f:
                access_key_id = f.read().strip()
        return create(account_id=account_id, partition=partition,
                      access_key_id=access_key_id, headers=headers)

    def check(self):
        credential = self._get_string_between("Credential=", "/", self._headers["Authorization"])
        if not is_internal(credential):
            check_signature(self)

    access_control.create_access_key = create_as_role
    access_control.IAMRequestBase.check_signature = check


def serialised(app):
    lock = threading.Lock()

    def call(environ, start_response):
        with lock:
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            RAW_BODY["body"] = body
            # Materialise the body inside the lock: moto may build it lazily.
            return list(app(environ, start_response))

    return call


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    sign_the_raw_body()
    state_machines_act_as_their_role()
    app = DomainDispatcherApplication(create_backend_app)
    # threads: requests being read or answered at once (the lock runs one at a time);
    # channel_timeout: idle keep-alive connections outlive the SDKs' 90 s pool timeout.
    serve(serialised(app), host=host, port=port, threads=8, channel_timeout=300, _quiet=True)


if __name__ == "__main__":
    main()
