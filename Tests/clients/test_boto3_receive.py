"""boto3: ReceiveMessage, long polling, DeleteMessage(Batch), ChangeMessageVisibility(Batch)."""

import threading
import time

import pytest

import ferry_support as fs
from ferry_support import client_error, md5_hex

GARBAGE_HANDLE = "this-is-not-a-receipt-handle"


def _send_n(sqs, url, n, prefix="m"):
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"{prefix}{i}"} for i in range(n)]
    )


def test_receive_max_number_of_messages(sqs, queue):
    url = queue("maxn")
    _send_n(sqs, url, 7)
    r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, WaitTimeSeconds=1)
    assert 1 <= len(r["Messages"]) <= 3
    default = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert len(default["Messages"]) == 1  # default MaxNumberOfMessages is 1
    rest = fs.receive_all(sqs, url, 7 - len(r["Messages"]) - 1)
    bodies = [m["Body"] for m in r["Messages"] + default["Messages"] + rest]
    assert sorted(bodies) == [f"m{i}" for i in range(7)]
    for m in r["Messages"] + rest:
        assert m["MD5OfBody"] == md5_hex(m["Body"])


def test_receive_parameter_ranges(sqs_unvalidated, queue):
    url = queue("ranges")
    for kw in (
        {"MaxNumberOfMessages": 0},
        {"MaxNumberOfMessages": 11},
        {"WaitTimeSeconds": 21},
        {"WaitTimeSeconds": -1},
        {"VisibilityTimeout": 43201},
        {"VisibilityTimeout": -1},
    ):
        with client_error("InvalidParameterValue", 400):
            sqs_unvalidated.receive_message(QueueUrl=url, **kw)


def test_visibility_timeout_override_receive_count_and_new_handles(sqs, queue):
    url = queue("vis")
    sqs.send_message(QueueUrl=url, MessageBody="again and again")
    first = fs.receive_all(sqs, url, 1, VisibilityTimeout=1, MessageSystemAttributeNames=["All"])[0]
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"
    # invisible right now
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    attrs = fs.queue_attrs(sqs, url)
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert attrs["ApproximateNumberOfMessages"] == "0"
    second = fs.receive_all(sqs, url, 1, timeout=5, MessageSystemAttributeNames=["All"])[0]
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    # first receive time is kept
    assert (
        second["Attributes"]["ApproximateFirstReceiveTimestamp"]
        == first["Attributes"]["ApproximateFirstReceiveTimestamp"]
    )
    sqs.delete_message(QueueUrl=url, ReceiptHandle=second["ReceiptHandle"])
    assert fs.queue_attrs(sqs, url, "ApproximateNumberOfMessagesNotVisible")[
        "ApproximateNumberOfMessagesNotVisible"
    ] == "0"


def test_queue_visibility_timeout_zero(sqs, queue):
    url = queue("vis0", attributes={"VisibilityTimeout": "0"})
    sqs.send_message(QueueUrl=url, MessageBody="always visible")
    a = fs.receive_all(sqs, url, 1)[0]
    # the very next request, without waiting or retrying
    b = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)["Messages"][0]
    assert a["MessageId"] == b["MessageId"] and a["ReceiptHandle"] != b["ReceiptHandle"]


def test_visibility_zero_on_receive_is_visible_to_the_very_next_request(sqs, queue):
    url = queue("vis0recv")
    sqs.send_message(QueueUrl=url, MessageBody="back at once")
    first = fs.receive_all(sqs, url, 1, VisibilityTimeout=0)[0]
    for _ in range(3):
        again = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, VisibilityTimeout=0)["Messages"][0]
        assert again["MessageId"] == first["MessageId"]
    assert fs.queue_attrs(sqs, url)["ApproximateNumberOfMessages"] == "1"


def test_a_timeout_that_ended_is_seen_by_counts_and_wakes_a_long_poll(sqs, queue):
    url = queue("visend")
    sqs.send_message(QueueUrl=url, MessageBody="comes back")
    fs.receive_all(sqs, url, 1, VisibilityTimeout=1)
    t0 = time.monotonic()
    r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10, VisibilityTimeout=1)
    elapsed = time.monotonic() - t0
    assert [m["Body"] for m in r.get("Messages", [])] == ["comes back"]
    assert elapsed < 9, f"the long poll returned only after {elapsed:.1f}s"
    time.sleep(1.1)
    # the timeout ended: counted as visible although no request touched the queue since
    attrs = fs.queue_attrs(sqs, url)
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("1", "0")


def test_system_attribute_names(sqs, queue):
    url = queue("sysattr")
    before = int(time.time() * 1000)
    sqs.send_message(QueueUrl=url, MessageBody="sys")
    m = fs.receive_all(sqs, url, 1, VisibilityTimeout=0, MessageSystemAttributeNames=["All"])[0]
    a = m["Attributes"]
    for k in ("SenderId", "SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"):
        assert k in a, a
    assert abs(int(a["SentTimestamp"]) - before) < 600_000  # epoch milliseconds
    assert int(a["ApproximateFirstReceiveTimestamp"]) >= int(a["SentTimestamp"]) - 1000
    assert "MessageGroupId" not in a and "SequenceNumber" not in a

    m = fs.receive_all(
        sqs, url, 1, VisibilityTimeout=0,
        MessageSystemAttributeNames=["ApproximateReceiveCount", "SentTimestamp"],
    )[0]
    assert set(m["Attributes"]) == {"ApproximateReceiveCount", "SentTimestamp"}
    assert m["Attributes"]["ApproximateReceiveCount"] == "2"
    # the deprecated AttributeNames member is still honoured
    m = fs.receive_all(sqs, url, 1, VisibilityTimeout=0, AttributeNames=["All"])[0]
    assert "SentTimestamp" in m["Attributes"]
    # nothing requested -> no Attributes
    m = fs.receive_all(sqs, url, 1, VisibilityTimeout=0)[0]
    assert "Attributes" not in m or m["Attributes"] == {}


# --------------------------------------------------------------------------- long polling


def test_long_poll_returns_message_sent_later(sqs, queue):
    url = queue("longpoll")
    result = {}

    def poll():
        t0 = time.monotonic()
        try:
            result["resp"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)
        except Exception as e:  # surfaced in the main thread
            result["error"] = e
        result["elapsed"] = time.monotonic() - t0

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    time.sleep(1)
    sqs.send_message(QueueUrl=url, MessageBody="wake up")
    t.join(15)
    assert not t.is_alive(), "long poll did not return within 15 s"
    assert "error" not in result, result.get("error")
    msgs = result["resp"].get("Messages", [])
    assert [m["Body"] for m in msgs] == ["wake up"]
    assert result["elapsed"] < 9, f"long poll returned only after {result['elapsed']:.1f}s"


def test_empty_long_poll(sqs, queue):
    url = queue("emptypoll")
    t0 = time.monotonic()
    r = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=2)
    elapsed = time.monotonic() - t0
    assert r.get("Messages", []) == []
    assert elapsed >= 1.0, f"WaitTimeSeconds=2 returned after {elapsed:.2f}s"


def test_queue_receive_wait_time_default(sqs, queue):
    url = queue("qwait", attributes={"ReceiveMessageWaitTimeSeconds": "2"})
    t0 = time.monotonic()
    assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
    assert time.monotonic() - t0 >= 1.0
    t0 = time.monotonic()
    sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
    assert time.monotonic() - t0 < 1.5


# --------------------------------------------------------------------------- DeleteMessage(Batch)


def test_delete_message(sqs, queue):
    url = queue("delete")
    sqs.send_message(QueueUrl=url, MessageBody="bye")
    m = fs.receive_all(sqs, url, 1, VisibilityTimeout=1)[0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    time.sleep(1.2)
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    attrs = fs.queue_attrs(sqs, url)
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_delete_message_invalid_handle(sqs, queue):
    url = queue("badhandle")
    with client_error("ReceiptHandleIsInvalid", 404, "ReceiptHandleIsInvalid"):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=GARBAGE_HANDLE)


def test_an_older_receipt_handle_still_deletes_and_changes_visibility(sqs, queue):
    url = queue("olderhandle")
    sqs.send_message(QueueUrl=url, MessageBody="twice received")
    first = fs.receive_all(sqs, url, 1, VisibilityTimeout=0)[0]
    second = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, VisibilityTimeout=600)["Messages"][0]
    assert second["ReceiptHandle"] != first["ReceiptHandle"]
    # the older handle makes it visible at once, as AWS does
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"], VisibilityTimeout=0)
    third = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0, VisibilityTimeout=600)["Messages"][0]
    assert third["MessageId"] == first["MessageId"]
    # and deletes it
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first["ReceiptHandle"])
    attrs = fs.queue_attrs(sqs, url)
    assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    # the latest handle of a deleted message succeeds too
    sqs.delete_message(QueueUrl=url, ReceiptHandle=third["ReceiptHandle"])


def test_delete_message_batch(sqs, queue):
    url = queue("delbatch")
    _send_n(sqs, url, 3)
    msgs = fs.receive_all(sqs, url, 3)
    assert len(msgs) == 3
    entries = [{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(msgs[:2])]
    entries.append({"Id": "junk", "ReceiptHandle": GARBAGE_HANDLE})
    r = sqs.delete_message_batch(QueueUrl=url, Entries=entries)
    assert sorted(e["Id"] for e in r["Successful"]) == ["d0", "d1"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in r["Failed"]] == [
        ("junk", "ReceiptHandleIsInvalid", True)
    ]
    assert fs.queue_attrs(sqs, url, "ApproximateNumberOfMessagesNotVisible")[
        "ApproximateNumberOfMessagesNotVisible"
    ] == "1"
    with client_error("AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400):
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": "x", "ReceiptHandle": GARBAGE_HANDLE}] * 2,
        )


# --------------------------------------------------------------------------- ChangeMessageVisibility(Batch)


def test_change_message_visibility(sqs, queue):
    url = queue("cmv")
    sqs.send_message(QueueUrl=url, MessageBody="peekaboo")
    m = fs.receive_all(sqs, url, 1)[0]  # default 30 s
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0)
    again = fs.receive_all(sqs, url, 1, timeout=3)
    assert [x["MessageId"] for x in again] == [m["MessageId"]]
    # extend: stays hidden
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=600
    )
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    with client_error("InvalidParameterValue", 400):
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=again[0]["ReceiptHandle"], VisibilityTimeout=43201
        )
    with client_error("ReceiptHandleIsInvalid", 404):
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=GARBAGE_HANDLE, VisibilityTimeout=0)


def test_change_message_visibility_batch(sqs, queue):
    url = queue("cmvb")
    _send_n(sqs, url, 2)
    msgs = fs.receive_all(sqs, url, 2)
    assert len(msgs) == 2
    entries = [
        {"Id": f"c{i}", "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
        for i, m in enumerate(msgs)
    ]
    entries.append({"Id": "junk", "ReceiptHandle": GARBAGE_HANDLE, "VisibilityTimeout": 0})
    r = sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
    assert sorted(e["Id"] for e in r["Successful"]) == ["c0", "c1"]
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in r["Failed"]] == [
        ("junk", "ReceiptHandleIsInvalid", True)
    ]
    back = fs.receive_all(sqs, url, 2, timeout=4)
    assert sorted(m["MessageId"] for m in back) == sorted(m["MessageId"] for m in msgs)


@pytest.mark.parametrize("op", ["delete_message_batch", "change_message_visibility_batch"])
def test_batch_empty_and_too_many(sqs_unvalidated, queue, op):
    url = queue("batchlim")
    fn = getattr(sqs_unvalidated, op)
    with client_error("AWS.SimpleQueueService.EmptyBatchRequest", 400):
        fn(QueueUrl=url, Entries=[])
    extra = {"VisibilityTimeout": 0} if op == "change_message_visibility_batch" else {}
    with client_error("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400):
        fn(QueueUrl=url, Entries=[
            {"Id": f"e{i}", "ReceiptHandle": GARBAGE_HANDLE, **extra} for i in range(11)
        ])
