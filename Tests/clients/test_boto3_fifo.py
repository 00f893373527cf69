"""boto3: FIFO queues (ordering, group blocking, deduplication, sequence numbers, attempt ids)."""

import hashlib
import time

from botocore.exceptions import ClientError

import ferry_support as fs
from ferry_support import client_error, md5_hex


def _send(sqs, url, body, group="g", dedup=None, **kw):
    kw = dict(kw)
    if dedup is not False:
        kw["MessageDeduplicationId"] = dedup or hashlib.sha1(body.encode()).hexdigest()
    return sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, **kw)


def _drain_in_order(sqs, url, expected, timeout=10):
    """Receive + delete until `expected` messages were seen; returns the bodies in order."""
    seen = []
    deadline = time.monotonic() + timeout
    while len(seen) < expected and time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        msgs = r.get("Messages", [])
        seen += [m["Body"] for m in msgs]
        if msgs:
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs)],
            )
    return seen


def test_fifo_queue_attributes(sqs, fifo_queue):
    url = fifo_queue("attrs", attributes={"ContentBasedDeduplication": "true"})
    attrs = fs.queue_attrs(sqs, url)
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "true"
    assert attrs["DeduplicationScope"] == "queue"
    assert attrs["FifoThroughputLimit"] == "perQueue"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"ContentBasedDeduplication": "false"})
    assert fs.queue_attrs(sqs, url, "ContentBasedDeduplication")["ContentBasedDeduplication"] == "false"


def test_fifo_order_and_sequence_numbers(sqs, fifo_queue):
    url = fifo_queue("order")
    seqs = []
    for i in range(6):
        r = _send(sqs, url, f"m{i}", group="g1")
        assert r["MD5OfMessageBody"] == md5_hex(f"m{i}")
        assert r["SequenceNumber"].isdigit()
        seqs.append(int(r["SequenceNumber"]))
    assert seqs == sorted(seqs) and len(set(seqs)) == 6, seqs
    r = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": f"b{i}", "MessageBody": f"m{6 + i}", "MessageGroupId": "g1",
             "MessageDeduplicationId": f"batch-{i}"}
            for i in range(3)
        ],
    )
    assert not r.get("Failed")
    batch_seqs = [int(e["SequenceNumber"]) for e in sorted(r["Successful"], key=lambda e: e["Id"])]
    assert batch_seqs == sorted(batch_seqs) and batch_seqs[0] > seqs[-1]
    assert _drain_in_order(sqs, url, 9) == [f"m{i}" for i in range(9)]


def test_fifo_receive_system_attributes(sqs, fifo_queue):
    url = fifo_queue("sysattrs")
    sent = _send(sqs, url, "attrs please", group="grp-A", dedup="dedup-A")
    m = fs.receive_all(sqs, url, 1, MessageSystemAttributeNames=["All"])[0]
    a = m["Attributes"]
    assert a["MessageGroupId"] == "grp-A"
    assert a["MessageDeduplicationId"] == "dedup-A"
    assert a["SequenceNumber"] == sent["SequenceNumber"]
    assert a["ApproximateReceiveCount"] == "1"


def test_fifo_group_blocked_while_in_flight(sqs, fifo_queue):
    url = fifo_queue("blocked")
    _send(sqs, url, "a1", group="A")
    _send(sqs, url, "a2", group="A")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in first] == ["a1"]
    _send(sqs, url, "b1", group="B")
    # group A is blocked by a1 in flight; group B is still served
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert [m["Body"] for m in r.get("Messages", [])] == ["b1"]
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get(
        "Messages", []
    ) == []
    # making a1 visible again returns a1 (not a2): order is kept across retries
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in again] == ["a1"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"])
    nxt = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in nxt] == ["a2"]


def test_fifo_dedup_by_id(sqs, fifo_queue):
    url = fifo_queue("dedup")
    r1 = _send(sqs, url, "original", dedup="same-id")
    r2 = _send(sqs, url, "different body, same id", dedup="same-id")
    assert r2["MessageId"] == r1["MessageId"]
    _send(sqs, url, "another", dedup="other-id")
    assert _drain_in_order(sqs, url, 2) == ["original", "another"]
    # the dedup window survives the delete
    r3 = _send(sqs, url, "original", dedup="same-id")
    assert r3["MessageId"] == r1["MessageId"]
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []


def test_fifo_content_based_dedup(sqs, fifo_queue):
    url = fifo_queue("cbd", attributes={"ContentBasedDeduplication": "true"})
    r1 = _send(sqs, url, "same body", dedup=False)
    r2 = _send(sqs, url, "same body", dedup=False)
    assert r1["MessageId"] == r2["MessageId"]
    # dedup ignores attributes and group
    r3 = _send(
        sqs, url, "same body", group="other", dedup=False,
        MessageAttributes={"a": {"DataType": "String", "StringValue": "b"}},
    )
    assert r3["MessageId"] == r1["MessageId"]
    # explicit id still wins over the content hash
    r4 = _send(sqs, url, "same body", dedup="explicit")
    assert r4["MessageId"] != r1["MessageId"]
    msgs = fs.receive_all(sqs, url, 3, timeout=4, MessageSystemAttributeNames=["All"])
    assert len(msgs) == 2, [m["Body"] for m in msgs]
    dedup_ids = {m["Attributes"]["MessageDeduplicationId"] for m in msgs}
    assert dedup_ids == {hashlib.sha256(b"same body").hexdigest(), "explicit"}


def test_fifo_parameter_errors(sqs, sqs_unvalidated, fifo_queue):
    url = fifo_queue("errors")
    with client_error("MissingParameter", 400):
        sqs.send_message(QueueUrl=url, MessageBody="no group", MessageDeduplicationId="d")
    with client_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="no dedup", MessageGroupId="g")
    with client_error("InvalidParameterValue", 400):
        _send(sqs, url, "delayed", DelaySeconds=5)
    with client_error("InvalidParameterValue", 400):
        _send(sqs, url, "long dedup", dedup="d" * 129)
    entries = [
        {"Id": "ok", "MessageBody": "fine", "MessageGroupId": "g", "MessageDeduplicationId": "1"},
        {"Id": "nogroup", "MessageBody": "bad", "MessageDeduplicationId": "2"},
    ]
    # as recorded on AWS: the whole request fails, not the entry
    with client_error("InvalidParameterValue", 400) as caught:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert "The request must contain the parameter MessageGroupId." in str(caught.value)
    no_dedup = [{"Id": "nodedup", "MessageBody": "bad", "MessageGroupId": "g"}]
    with client_error("InvalidParameterValue", 400) as caught:
        sqs.send_message_batch(QueueUrl=url, Entries=no_dedup)
    assert "ContentBasedDeduplication enabled or MessageDeduplicationId" in str(caught.value)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)


def test_fifo_receive_request_attempt_id(sqs, fifo_queue):
    url = fifo_queue("attempt")
    for i in range(3):
        _send(sqs, url, f"r{i}", group="g")
    first = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, ReceiveRequestAttemptId="attempt-1"
    )["Messages"]
    retry = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, ReceiveRequestAttemptId="attempt-1"
    )["Messages"]
    assert [m["MessageId"] for m in retry] == [m["MessageId"] for m in first]
    assert [m["ReceiptHandle"] for m in retry] == [m["ReceiptHandle"] for m in first]
    assert [m["Body"] for m in first] == [f"r{i}" for i in range(len(first))]
    # a different attempt id gets nothing: the group is in flight
    assert sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, ReceiveRequestAttemptId="attempt-2"
    ).get("Messages", []) == []
    # the returned handles work
    for m in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_fifo_delete_with_an_expired_receipt_handle(sqs, fifo_queue):
    url = fifo_queue("expired", attributes={"VisibilityTimeout": "1"})
    _send(sqs, url, "soon stale")
    first = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    time.sleep(1.1)
    handle = first["ReceiptHandle"]
    with client_error("InvalidParameterValue", 400) as ei:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    assert ei.value.response["Error"]["Message"] == (
        f"Value {handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
    )
    again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"][0]
    assert again["Body"] == "soon stale"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again["ReceiptHandle"])


def test_fifo_a_later_message_in_flight_does_not_block_the_visible_head(sqs, fifo_queue):
    url = fifo_queue("headvisible")
    for body in ("m0", "m1", "m2"):
        _send(sqs, url, body, group="G")
    taken = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in taken] == ["m0", "m1"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=taken[0]["ReceiptHandle"], VisibilityTimeout=0)
    # m0 is visible again and m1 still in flight: the group gives m0, and stops at m1
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)["Messages"]
    assert [m["Body"] for m in again] == ["m0"]


def test_fifo_a_message_back_from_flight_queues_behind_groups_never_received(sqs, fifo_queue):
    url = fifo_queue("groupturns")
    _send(sqs, url, "a", group="A")
    time.sleep(0.01)
    _send(sqs, url, "b", group="B")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in first] == ["a"]
    time.sleep(0.01)
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"], VisibilityTimeout=0)
    order = []
    for _ in range(2):
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0)
        order += [m["Body"] for m in r.get("Messages", [])]
    assert order == ["b", "a"]
