"""moto in server mode on loopback, with DynamoDB requests serialized.

moto serves each request on its own thread, and its DynamoDB backend checks a transaction's
conditions and applies its writes without a lock: two concurrent TransactWriteItems can both pass
`attribute_not_exists` on the same key. DynamoDB itself runs each request atomically, and our
uniqueness guarantees rest on that, so DynamoDB requests go through one lock here. Every other
service stays concurrent (an SQS long poll must not stall the tables).

moto's TransactWriteItems also deep-copies every table it touches once per item, to roll back
on failure: a 100-item transaction on a table of a few thousand items takes seconds, and the
copies' cyclic garbage grew the emulator to 17 GB in a 10,000-contact test and to 23 GB (killed)
importing 100,000. Here a transaction keeps a journal instead: the items it is about to write, as
they were, put back in reverse order if it is cancelled — the same rollback, at the cost of the
transaction's own items.

SES identities verify at once here (there is no DNS to check), with Easy DKIM tokens shaped
as AWS gives them, so the local stack shows the records a user would create and sends at once.
What else SES does for us (configuration-set event publishing, the outbox) is in ses_local.py;
the DNS a domain's ownership proof is read from is dns_local.py.

moto's SQS reads a queue's `attributes` for one setting on every SendMessage (content-based
deduplication) and three times for every message received (retention period), and that property
counts the queue's messages by walking them all, two clock reads each: a send into a queue of n
messages costs O(n) and a receive of ten O(n) thirty times over. A queue left to fill (SES
events during a 10,000-message campaign) slowed the emulator's sends from 728 a minute to 95,
and receiving from 20,000 took 27 s a batch. Here the settings come from moto's own code without
the counts, and a count is computed when it is read (GetQueueAttributes).

usage: python infra/emulator.py PORT
"""

import copy
import os
from collections.abc import Mapping
import secrets
import signal
import sys
import threading

import moto.dynamodb.models as dynamodb_models
import moto.ses.models as ses_models
import moto.sqs.models as sqs_models
import dns_local
import ses_local
from moto.core.exceptions import JsonRESTError

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


class _TablesNotCopied:
    """Stands in for the `copy` module inside moto's DynamoDB models while a transaction runs: its
    snapshot of a table is the table itself (the journal undoes the writes), any other deep copy
    is a real one."""

    def __init__(self):
        self.in_transaction = False

    def deepcopy(self, obj, *args):
        if self.in_transaction and isinstance(obj, dynamodb_models.Table):
            return obj
        return copy.deepcopy(obj, *args)

    def __getattr__(self, name):
        return getattr(copy, name)


def journal_transactions():
    shim = _TablesNotCopied()
    dynamodb_models.copy = shim
    backend = dynamodb_models.DynamoDBBackend
    original = backend.transact_write_items
    writes = {"put_item", "update_item", "delete_item"}

    def transact_write_items(self, transact_items):
        journal = {}

        def keep(table_name, key):
            """The item at `key` as it was before the transaction first wrote it."""
            marker = (table_name, repr(sorted((k, repr(v)) for k, v in key.items())))
            if marker not in journal:
                item = backend.get_item(self, table_name, key)
                journal[marker] = (table_name, key, None if item is None else item.to_json()["Attributes"])

        def journaled(name):
            write = getattr(backend, name)

            def call(table_name, key_or_attrs, *args, **kwargs):
                table = backend.get_table(self, table_name)
                key = {table.hash_key_attr: key_or_attrs[table.hash_key_attr]}
                if table.range_key_attr is not None:
                    key[table.range_key_attr] = key_or_attrs[table.range_key_attr]
                keep(table_name, key)
                return write(self, table_name, key_or_attrs, *args, **kwargs)

            return call

        for name in writes:
            setattr(self, name, journaled(name))
        shim.in_transaction = True
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, before in reversed(list(journal.values())):
                if before is None:
                    backend.delete_item(self, table_name, key)
                else:
                    backend.put_item(self, table_name, before)
            raise
        finally:
            shim.in_transaction = False
            for name in writes:
                delattr(self, name)

    backend.transact_write_items = transact_write_items


class AlreadyExistsException(JsonRESTError):
    """What SES v2 answers when the identity exists (moto would overwrite it)."""

    code = 400

    def __init__(self, identity):
        super().__init__("AlreadyExistsException", f"Email identity {identity} already exist.")


def verify_identities_at_once():
    original = ses_models.SESBackend.create_email_identity_v2

    def create_email_identity_v2(self, email_identity, *args, **kwargs):
        if email_identity in self.email_identities:
            raise AlreadyExistsException(email_identity)
        identity = original(self, email_identity, *args, **kwargs)
        identity.verified_for_sending_status = True
        identity.dkim_attributes = {
            "SigningEnabled": True,
            "Status": "SUCCESS",
            "Tokens": [secrets.token_hex(16) for _ in range(3)],
            "SigningAttributesOrigin": "AWS_SES",
            "NextSigningKeyLength": "RSA_2048_BIT",
            "CurrentSigningKeyLength": "RSA_2048_BIT",
        }
        return identity

    ses_models.SESBackend.create_email_identity_v2 = create_email_identity_v2


# The attributes whose value is a walk through every message of the queue.
_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesDelayed",
    "ApproximateNumberOfMessagesNotVisible",
)
_COUNT_FIELDS = {sqs_models.camelcase_to_underscores(count) for count in _COUNTS}


class _CountsLeftOut:
    """A queue seen by moto's `attributes` property with its message counts not computed."""

    def __init__(self, queue):
        self.queue = queue

    def __getattr__(self, name):
        if name in _COUNT_FIELDS:
            return None
        return getattr(self.queue, name)


class _QueueAttributes(Mapping):
    """A queue's attributes as moto's property lists them, its settings computed by moto's own
    code at once (cheap) and each message count only when it is read."""

    def __init__(self, queue, compute):
        self.queue = queue
        self.settings = compute(_CountsLeftOut(queue))

    def __getitem__(self, key):
        if key in _COUNTS:
            return getattr(self.queue, sqs_models.camelcase_to_underscores(key))
        return self.settings[key]

    def __iter__(self):
        return iter(self.settings)

    def __len__(self):
        return len(self.settings)


def count_messages_only_when_asked():
    compute = sqs_models.Queue.attributes.fget
    sqs_models.Queue.attributes = property(lambda queue: _QueueAttributes(queue, compute))


def main():
    port = int(sys.argv[1])
    os.environ.setdefault("MOTO_PORT", str(port))
    # Its state is in memory, nothing to flush: exit at once, without waiting for request
    # threads (an SQS long poll would hold a graceful exit for its 20 seconds).
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    journal_transactions()
    verify_identities_at_once()
    count_messages_only_when_asked()
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(
        "127.0.0.1",
        port,
        dns_local.LocalDns(ses_local.install(SerializedDynamoDB(app))),
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
