"""What infra/emulator.py changes in moto, checked against moto's own backends in this process.

run: python -m unittest discover -s infra -p '*_test.py'
"""

import unittest

import moto.sqs.models as sqs_models
from moto.sqs.exceptions import InvalidParameterValue
from moto.sqs.models import sqs_backends

import emulator

emulator.send_without_scanning_the_queue()


class ScansCounted:
    """Counts the reads of a queue's visible messages: each one walks the whole queue."""

    def __enter__(self):
        self.original = sqs_models.Queue.messages
        self.count = 0

        def counted(queue):
            self.count += 1
            return self.original.fget(queue)

        sqs_models.Queue.messages = property(counted)
        return self

    def __exit__(self, *_):
        sqs_models.Queue.messages = self.original


class SendIntoAFullQueue(unittest.TestCase):
    def setUp(self):
        self.backend = sqs_backends["123456789012"]["us-east-1"]
        self.backend.reset()

    def test_a_send_into_a_queue_of_thousands_of_messages_reads_none_of_them(self):
        self.backend.create_queue("events")
        for n in range(2_000):
            self.backend.send_message("events", f"event {n}")
        with ScansCounted() as scans:
            self.backend.send_message("events", "one more")
            batch = {
                str(n): {"Id": str(n), "MessageBody": f"b{n}", "MessageAttributes": {}, "DelaySeconds": None}
                for n in range(10)
            }
            self.backend.send_message_batch("events", batch)
        self.assertEqual(scans.count, 0)

    def test_the_queue_attributes_still_count_every_message(self):
        self.backend.create_queue("events", VisibilityTimeout="45")
        for n in range(25):
            self.backend.send_message("events", f"event {n}")
        everything = self.backend.get_queue_attributes("events", ["All"])
        self.assertEqual(everything["ApproximateNumberOfMessages"], 25)
        self.assertEqual(everything["VisibilityTimeout"], 45)
        self.assertNotIn("ContentBasedDeduplication", everything)
        named = self.backend.get_queue_attributes("events", ["ApproximateNumberOfMessages"])
        self.assertEqual(named, {"ApproximateNumberOfMessages": 25})

    def test_a_fifo_queue_deduplicating_by_content_keeps_one_of_two_equal_bodies(self):
        self.backend.create_queue("sends.fifo", FifoQueue="true", ContentBasedDeduplication="true")
        for _ in range(2):
            self.backend.send_message("sends.fifo", "same body", group_id="g")
        everything = self.backend.get_queue_attributes("sends.fifo", ["All"])
        self.assertEqual(everything["ApproximateNumberOfMessages"], 1)
        self.assertEqual(everything["ContentBasedDeduplication"], "true")

    def test_a_fifo_queue_without_content_deduplication_still_asks_for_an_id(self):
        self.backend.create_queue("sends.fifo", FifoQueue="true")
        with self.assertRaises(InvalidParameterValue):
            self.backend.send_message("sends.fifo", "body", group_id="g")

    def test_creating_an_existing_queue_again_with_the_same_settings_answers_the_same_queue(self):
        first = self.backend.create_queue("events", VisibilityTimeout="45")
        again = self.backend.create_queue("events", VisibilityTimeout="45")
        self.assertIs(first, again)


if __name__ == "__main__":
    unittest.main()
