#!/usr/bin/env python3
"""moto's server with every request serialised.

Usage: moto_server.py HOST PORT

moto's in-memory backends are not thread-safe: under concurrent TransactWriteItems
calls on one item it was seen to cancel a transaction with "RuntimeError: dictionary
changed size during iteration", which no real DynamoDB does. The real services are
linearisable per item, and the concurrency tests depend on exactly that, so one lock
around each request makes moto behave like the service it stands in for. Accepting
stays threaded, so a slow client never blocks the others.
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


def serialised(app):
    lock = threading.Lock()

    def call(environ, start_response):
        with lock:
            # Materialise the body inside the lock: moto may build it lazily.
            return list(app(environ, start_response))

    return call


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, serialised(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
