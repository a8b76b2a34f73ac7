"""moto in server mode on loopback, with DynamoDB requests serialized.

moto serves each request on its own thread, and its DynamoDB backend checks a transaction's
conditions and applies its writes without a lock: two concurrent TransactWriteItems can both pass
`attribute_not_exists` on the same key. DynamoDB itself runs each request atomically, and our
uniqueness guarantees rest on that, so DynamoDB requests go through one lock here. Every other
service stays concurrent (an SQS long poll must not stall the tables).

usage: python infra/emulator.py PORT
"""

import os
import signal
import sys
import threading

from werkzeug.serving import run_simple
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


class SerializedDynamoDB:
    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with self.lock:
                # Drain the body inside the lock: the answer is complete before another begins.
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


def main():
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1",
        port,
        SerializedDynamoDB(app),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
