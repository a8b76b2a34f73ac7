"""moto in server mode on loopback, with DynamoDB requests serialized.

moto serves each request on its own thread, and its DynamoDB backend checks a transaction's
conditions and applies its writes without a lock: two concurrent TransactWriteItems can both pass
`attribute_not_exists` on the same key. DynamoDB itself runs each request atomically, and our
uniqueness guarantees rest on that, so DynamoDB requests go through one lock here. Every other
service stays concurrent (an SQS long poll must not stall the tables).

moto's TransactWriteItems also deep-copies a whole table once per item of the transaction, to
roll back on failure: a 100-item transaction on a table of a few thousand items takes seconds.
Copying each table once per transaction is the same rollback, so that is what runs here.

usage: python infra/emulator.py PORT
"""

import copy
import os
import signal
import sys
import threading

import moto.dynamodb.models as dynamodb_models

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


class _CopyOncePerTransaction:
    """Stands in for the `copy` module inside moto's DynamoDB models: while a transaction runs, a
    second deep copy of the same object is the first one (the object cannot change in between:
    DynamoDB requests are serialized and the copies are only read on rollback)."""

    def __init__(self):
        self.memo = None

    def deepcopy(self, obj, *args):
        if self.memo is None:
            return copy.deepcopy(obj, *args)
        held = self.memo.get(id(obj))
        if held is None or held[0] is not obj:
            held = (obj, copy.deepcopy(obj, *args))
            self.memo[id(obj)] = held
        return held[1]

    def __getattr__(self, name):
        return getattr(copy, name)


def copy_tables_once_per_transaction():
    shim = _CopyOncePerTransaction()
    dynamodb_models.copy = shim
    original = dynamodb_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):
        shim.memo = {}
        try:
            return original(self, transact_items)
        finally:
            shim.memo = None

    dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items


def main():
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    copy_tables_once_per_transaction()
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
