"""What infra/emulator.py changes in moto, checked against moto's own backends in this process.

run: python -m unittest discover -s infra -p '*_test.py'
"""

import unittest

import moto.sqs.models as sqs_models
from moto.sqs.exceptions import InvalidParameterValue
from moto.sqs.models import sqs_backends

import emulator

emulator.count_messages_only_when_asked()

# Each a walk through every message of a queue.
WALKS = (
    "messages",
    "approximate_number_of_messages_delayed",
    "approximate_number_of_messages_not_visible",
)


class WalksCounted:
    def __enter__(self):
        self.originals = {name: getattr(sqs_models.Queue, name) for name in WALKS}
        self.count = 0

        def counted(original):
            def read(queue):
                self.count += 1
                return original.fget(queue)

            return property(read)

        for name, original in self.originals.items():
            setattr(sqs_models.Queue, name, counted(original))
        return self

    def __exit__(self, *_):
        for name, original in self.originals.items():
            setattr(sqs_models.Queue, name, original)


class QueueAttributes(unittest.TestCase):
    def setUp(self):
        self.backend = sqs_backends["123456789012"]["us-east-1"]
        self.backend.reset()

    def fill(self, queue, count):
        self.backend.create_queue(queue)
        for n in range(count):
            self.backend.send_message(queue, f"event {n}")

    def test_a_send_into_a_queue_of_thousands_of_messages_walks_none_of_them(self):
        self.fill("events", 2_000)
        with WalksCounted() as walks:
            self.backend.send_message("events", "one more")
            batch = {
                str(n): {"Id": str(n), "MessageBody": f"b{n}", "MessageAttributes": {}, "DelaySeconds": None}
                for n in range(10)
            }
            self.backend.send_message_batch("events", batch)
        self.assertEqual(walks.count, 0)

    def test_receiving_ten_messages_walks_the_queue_once_not_once_a_message(self):
        self.fill("events", 2_000)
        with WalksCounted() as walks:
            received = self.backend.receive_message("events", 10, 0, 30)
        self.assertEqual(len(received), 10)
        self.assertEqual(walks.count, 1)

    def test_the_queue_attributes_still_count_every_message(self):
        self.backend.create_queue("events", VisibilityTimeout="45")
        for n in range(25):
            self.backend.send_message("events", f"event {n}")
        self.backend.receive_message("events", 5, 0, 30)
        everything = dict(self.backend.get_queue_attributes("events", ["All"]))
        self.assertEqual(everything["ApproximateNumberOfMessages"], 20)
        self.assertEqual(everything["ApproximateNumberOfMessagesNotVisible"], 5)
        self.assertEqual(everything["ApproximateNumberOfMessagesDelayed"], 0)
        self.assertEqual(everything["VisibilityTimeout"], 45)
        self.assertEqual(everything["SqsManagedSseEnabled"], "true")
        self.assertNotIn("ContentBasedDeduplication", everything)
        named = self.backend.get_queue_attributes("events", ["ApproximateNumberOfMessages"])
        self.assertEqual(named, {"ApproximateNumberOfMessages": 20})

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

    def test_a_dead_letter_queue_and_its_redrive_policy_read_as_moto_writes_them(self):
        dead = self.backend.create_queue("events-dlq")
        policy = f'{{"deadLetterTargetArn": "{dead.queue_arn}", "maxReceiveCount": 3}}'
        self.backend.create_queue("events", RedrivePolicy=policy)
        redrive = self.backend.get_queue_attributes("events", ["RedrivePolicy"])["RedrivePolicy"]
        self.assertIn(dead.queue_arn, redrive)
        self.assertIn('"maxReceiveCount": 3', redrive)

    def test_creating_an_existing_queue_again_with_the_same_settings_answers_the_same_queue(self):
        first = self.backend.create_queue("events", VisibilityTimeout="45")
        again = self.backend.create_queue("events", VisibilityTimeout="45")
        self.assertIs(first, again)


if __name__ == "__main__":
    unittest.main()
