"""Durability of `ferry serve` across kill -9.

Producers send through boto3 while the server is killed with SIGKILL; the server restarts on the same
data directory, and every message whose send was acknowledged must be there. Nothing else may appear.
Skipped against an external server (FERRY_ENDPOINT): it needs to kill and restart the process.
"""

import os
import tempfile
import threading
import time

import pytest

import ferry_support as fs

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("FERRY_ENDPOINT")), reason="kills and restarts its own ferry process"
)

PRODUCERS = 4
# Bounds on the load: each producer stops at this many batches, or when the server dies.
BATCHES_PER_PRODUCER_MAX = 5_000
LOAD_SECONDS_BEFORE_KILL = 1.5


def start_server(data_dir, *extra):
    return fs.FerryProcess(extra_args=tuple(extra), data_dir=data_dir).start()


def drain(sqs, url, expected_at_least, timeout=60.0):
    """Receives and deletes until the queue is empty (after at least `expected_at_least`); returns bodies."""
    bodies = []
    deadline = time.monotonic() + timeout
    empty_polls = 0
    while time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1 if bodies else 0)
        messages = r.get("Messages", [])
        if not messages:
            empty_polls += 1
            if len(bodies) >= expected_at_least and empty_polls >= 2:
                break
            continue
        empty_polls = 0
        bodies.extend(m["Body"] for m in messages)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return bodies


def produce_until_killed(endpoint, url, server, fifo=False, kill_when=None):
    """Runs producers, kills the server mid-load; returns (acknowledged bodies, attempted bodies)."""
    acknowledged = set()
    attempted = set()
    lock = threading.Lock()
    stop = threading.Event()

    def producer(worker):
        sqs = fs.make_sqs_client(endpoint, connect_timeout=2, read_timeout=5)
        for batch in range(BATCHES_PER_PRODUCER_MAX):
            if stop.is_set():
                return
            entries = []
            for i in range(10):
                body = f"w{worker}-b{batch}-m{i}"
                entry = {"Id": str(i), "MessageBody": body}
                if fifo:
                    entry["MessageGroupId"] = f"g{worker}"
                    entry["MessageDeduplicationId"] = body
                entries.append(entry)
            with lock:
                attempted.update(e["MessageBody"] for e in entries)
            try:
                r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            except Exception:  # the server died under us: this batch is not acknowledged
                return
            ok = {entries[int(s["Id"])]["MessageBody"] for s in r.get("Successful", [])}
            with lock:
                acknowledged.update(ok)

    threads = [threading.Thread(target=producer, args=(w,), daemon=True) for w in range(PRODUCERS)]
    for t in threads:
        t.start()
    time.sleep(LOAD_SECONDS_BEFORE_KILL)
    if kill_when is not None:
        fs.wait_until(kill_when, timeout=60, interval=0.05, desc="the moment to kill")
        time.sleep(0.3)
    server.kill9()  # mid-load: sends are in flight right now
    stop.set()
    for t in threads:
        t.join(15)
    return acknowledged, attempted


def check_history(acknowledged, attempted, received, label):
    lost = acknowledged - set(received)
    unexpected = set(received) - attempted
    duplicated = len(received) - len(set(received))
    print(
        f"{label}: acknowledged {len(acknowledged)}, attempted {len(attempted)}, received {len(received)}; "
        f"lost {len(lost)}, unexpected {len(unexpected)}, duplicated {duplicated}"
    )
    assert len(acknowledged) > 100, f"{label}: too little load before the kill ({len(acknowledged)})"
    assert not lost, f"{label}: {len(lost)} acknowledged messages lost, e.g. {sorted(lost)[:5]}"
    assert not unexpected, f"{label}: received messages never sent: {sorted(unexpected)[:5]}"


@pytest.mark.ferry_timeout(120)
@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_kill9_mid_load_loses_no_acknowledged_message(fsync):
    with tempfile.TemporaryDirectory(prefix="ferry-kill9-") as data_dir:
        server = start_server(data_dir, "--fsync", fsync)
        sqs = fs.make_sqs_client(server.endpoint)
        url = sqs.create_queue(QueueName="durable")["QueueUrl"]
        acknowledged, attempted = produce_until_killed(server.endpoint, url, server)

        restarted = start_server(data_dir, "--fsync", fsync)
        try:
            sqs = fs.make_sqs_client(restarted.endpoint)
            url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
            received = drain(sqs, url, len(acknowledged))
            check_history(acknowledged, attempted, received, f"kill -9, fsync={fsync}")
        finally:
            restarted.stop_and_check()


@pytest.mark.ferry_timeout(120)
def test_kill9_with_snapshots_and_fifo_loses_nothing():
    # Snapshots every 1,000 commands, so the kill lands after several snapshots and log compactions.
    with tempfile.TemporaryDirectory(prefix="ferry-kill9-") as data_dir:
        server = start_server(data_dir, "--snapshot-every", "1000")
        sqs = fs.make_sqs_client(server.endpoint)
        url = sqs.create_queue(
            QueueName="durable.fifo", Attributes={"FifoQueue": "true", "DeduplicationScope": "messageGroup",
                                                  "FifoThroughputLimit": "perMessageGroupId"}
        )["QueueUrl"]
        log_dir = os.path.join(data_dir, "log")

        def snapshots():
            return [n for n in os.listdir(log_dir) if n.endswith(".snap")]

        acknowledged, attempted = produce_until_killed(
            server.endpoint, url, server, fifo=True, kill_when=lambda: len(snapshots()) > 0)
        written = snapshots()

        restarted = start_server(data_dir, "--snapshot-every", "1000")
        try:
            sqs = fs.make_sqs_client(restarted.endpoint)
            url = sqs.get_queue_url(QueueName="durable.fifo")["QueueUrl"]
            received = drain(sqs, url, len(acknowledged))
            check_history(acknowledged, attempted, received, "kill -9 with snapshots, FIFO")
            assert written, f"no snapshot was written before the kill: {os.listdir(log_dir)}"
            # FIFO order per group survived: each producer's messages arrive in send order.
            for worker in range(PRODUCERS):
                mine = [b for b in received if b.startswith(f"w{worker}-")]
                keys = [tuple(int(p[1:]) for p in b.split("-")[1:]) for b in mine]
                assert keys == sorted(keys), f"group g{worker} out of order after restart"
        finally:
            restarted.stop_and_check()


@pytest.mark.ferry_timeout(90)
def test_restart_restores_queues_in_flight_messages_dlq_and_dedup():
    with tempfile.TemporaryDirectory(prefix="ferry-restart-") as data_dir:
        server = start_server(data_dir)
        sqs = fs.make_sqs_client(server.endpoint)
        dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        src = sqs.create_queue(
            QueueName="source",
            Attributes={"RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}'},
            tags={"team": "ferry"},
        )["QueueUrl"]
        fifo = sqs.create_queue(QueueName="dedup.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        for i in range(5):
            sqs.send_message(QueueUrl=src, MessageBody=f"s{i}", DelaySeconds=0)
        sqs.send_message(QueueUrl=src, MessageBody="delayed", DelaySeconds=900)
        in_flight = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=2, VisibilityTimeout=600)["Messages"]
        first = sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d1")
        server.kill9()

        restarted = start_server(data_dir)
        try:
            sqs = fs.make_sqs_client(restarted.endpoint)
            attrs = fs.queue_attrs(sqs, src)
            assert attrs["ApproximateNumberOfMessages"] == "3"
            assert attrs["ApproximateNumberOfMessagesNotVisible"] == "2"
            assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
            assert dlq_arn in attrs["RedrivePolicy"]
            assert sqs.list_queue_tags(QueueUrl=src)["Tags"] == {"team": "ferry"}
            dlq = sqs.get_queue_url(QueueName="dead")["QueueUrl"]
            src = sqs.get_queue_url(QueueName="source")["QueueUrl"]
            fifo = sqs.get_queue_url(QueueName="dedup.fifo")["QueueUrl"]
            assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]
            # Receipt handles issued before the crash still work.
            sqs.delete_message(QueueUrl=src, ReceiptHandle=in_flight[0]["ReceiptHandle"])
            assert fs.queue_attrs(sqs, src)["ApproximateNumberOfMessagesNotVisible"] == "1"
            # The deduplication id is remembered: the same send is not a new message.
            again = sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d1")
            assert again["MessageId"] == first["MessageId"]
            assert fs.queue_attrs(sqs, fifo)["ApproximateNumberOfMessages"] == "1"
        finally:
            restarted.stop_and_check()
