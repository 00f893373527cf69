"""boto3: SendMessage / SendMessageBatch, MD5 rules, message attributes, purge."""


import pytest

import ferry_support as fs
from ferry_support import client_error, md5_hex, md5_of_attributes

ATTRS = {
    "str": {"DataType": "String", "StringValue": "héllo wörld"},
    "num": {"DataType": "Number", "StringValue": "-12.5e3"},
    "bin": {"DataType": "Binary", "BinaryValue": b"\x00\x01\xfe\xff binary"},
    "custom.label": {"DataType": "String.custom", "StringValue": "labelled"},
    "bin.gif": {"DataType": "Binary.gif", "BinaryValue": b"GIF89a"},
    "Num_2": {"DataType": "Number.int", "StringValue": "42"},
}


def _one(sqs, url, **kw):
    msgs = fs.receive_all(sqs, url, 1, **kw)
    assert len(msgs) == 1, msgs
    return msgs[0]


def test_send_message_md5_of_body(sqs, queue):
    url = queue("md5")
    for body in ["hello", "ünïcödé ✓ 😀", "x" * 5000, "tab\tnl\ncr\r end"]:
        r = sqs.send_message(QueueUrl=url, MessageBody=body)
        assert r["MD5OfMessageBody"] == md5_hex(body)
        assert r["MessageId"]
        # no attributes -> no attribute MD5 fields at all
        assert "MD5OfMessageAttributes" not in r
        assert "MD5OfMessageSystemAttributes" not in r
        assert "SequenceNumber" not in r
        m = _one(sqs, url)
        assert m["Body"] == body
        assert m["MD5OfBody"] == md5_hex(body)
        assert m["MessageId"] == r["MessageId"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_message_attributes_round_trip_and_md5(sqs, queue):
    url = queue("mattrs")
    r = sqs.send_message(QueueUrl=url, MessageBody="with attributes", MessageAttributes=ATTRS)
    assert r["MD5OfMessageAttributes"] == md5_of_attributes(ATTRS)
    assert r["MD5OfMessageBody"] == md5_hex("with attributes")
    m = _one(sqs, url, MessageAttributeNames=["All"])
    assert m["MessageAttributes"] == ATTRS
    assert m["MD5OfMessageAttributes"] == md5_of_attributes(ATTRS)


def test_message_attribute_name_filters(sqs, queue):
    url = queue("mfilter")
    attrs = {
        "a.x": {"DataType": "String", "StringValue": "1"},
        "a.y": {"DataType": "Number", "StringValue": "2"},
        "b.z": {"DataType": "String", "StringValue": "3"},
        "plain": {"DataType": "String", "StringValue": "4"},
    }
    sqs.send_message(QueueUrl=url, MessageBody="filters", MessageAttributes=attrs)
    cases = [
        (["a.*"], {"a.x", "a.y"}),
        (["plain", "b.z"], {"plain", "b.z"}),
        ([".*"], set(attrs)),
        (["All"], set(attrs)),
        (["nomatch"], set()),
        (None, set()),
    ]
    for names, expected in cases:
        kw = {"VisibilityTimeout": 0}
        if names is not None:
            kw["MessageAttributeNames"] = names
        m = _one(sqs, url, **kw)
        got = m.get("MessageAttributes", {})
        assert set(got) == expected, (names, got)
        want = {k: attrs[k] for k in expected}
        if expected:
            # only the returned attributes are hashed
            assert m["MD5OfMessageAttributes"] == md5_of_attributes(want), names
        else:
            assert "MD5OfMessageAttributes" not in m, names


def test_system_attribute_aws_trace_header(sqs, queue):
    url = queue("trace")
    sysattrs = {
        "AWSTraceHeader": {
            "DataType": "String",
            "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        }
    }
    r = sqs.send_message(QueueUrl=url, MessageBody="traced", MessageSystemAttributes=sysattrs)
    assert r["MD5OfMessageSystemAttributes"] == md5_of_attributes(sysattrs)
    m = _one(sqs, url, MessageSystemAttributeNames=["AWSTraceHeader"])
    assert m["Attributes"] == {"AWSTraceHeader": sysattrs["AWSTraceHeader"]["StringValue"]}


def test_the_trace_id_header_becomes_aws_trace_header(endpoint, queue):
    url = queue("traceheader")
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    client = fs.make_sqs_client(endpoint)

    def add_trace_header(request, **_):
        request.headers["X-Amzn-Trace-Id"] = trace

    client.meta.events.register("before-sign.sqs.SendMessage", add_trace_header)
    client.meta.events.register("before-sign.sqs.SendMessageBatch", add_trace_header)
    expected = {"AWSTraceHeader": {"DataType": "String", "StringValue": trace}}
    r = client.send_message(QueueUrl=url, MessageBody="traced by header")
    assert r["MD5OfMessageSystemAttributes"] == md5_of_attributes(expected)
    batch = client.send_message_batch(QueueUrl=url, Entries=[{"Id": "b", "MessageBody": "batch traced"}])
    assert batch["Successful"][0]["MD5OfMessageSystemAttributes"] == md5_of_attributes(expected)
    got = fs.receive_all(client, url, 2, MessageSystemAttributeNames=["AWSTraceHeader"])
    assert [m["Attributes"] for m in got] == [{"AWSTraceHeader": trace}] * 2
    # an attribute of the message's own wins over the header
    own = {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-own"}}
    r = client.send_message(QueueUrl=url, MessageBody="own", MessageSystemAttributes=own)
    assert r["MD5OfMessageSystemAttributes"] == md5_of_attributes(own)


@pytest.mark.parametrize(
    "body", ["nul\x00char", "bell\x07", "\x1f", "\ufffe", "\uffff"], ids=["nul", "bell", "us", "fffe", "ffff"]
)
def test_send_message_invalid_contents(sqs, queue, body):
    url = queue("badchars")
    with client_error("InvalidMessageContents", 400, "InvalidMessageContents"):
        sqs.send_message(QueueUrl=url, MessageBody=body)


def test_send_message_size_limits(sqs, queue):
    url = queue("size")
    big = "a" * 1048576
    r = sqs.send_message(QueueUrl=url, MessageBody=big)
    assert r["MD5OfMessageBody"] == md5_hex(big)
    with client_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody=big + "a")
    # multi-byte characters count as UTF-8 bytes
    with client_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="é" * 524289)
    # the queue's own MaximumMessageSize applies too
    small = queue("small", attributes={"MaximumMessageSize": "1024"})
    sqs.send_message(QueueUrl=small, MessageBody="b" * 1024)
    with client_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=small, MessageBody="b" * 1025)


def test_send_message_parameter_errors(sqs, sqs_unvalidated, queue):
    url = queue("params")
    with client_error({"MissingParameter", "InvalidParameterValue"}, 400):
        sqs_unvalidated.send_message(QueueUrl=url, MessageBody="")
    with client_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901)
    too_many = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    with client_error("InvalidParameterValue", 400):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=too_many)
    for bad in (
        {"AWS.reserved": {"DataType": "String", "StringValue": "v"}},
        {"bad name": {"DataType": "String", "StringValue": "v"}},
        {"x": {"DataType": "Text", "StringValue": "v"}},
        {"x": {"DataType": "Number", "StringValue": "not-a-number"}},
        {"x": {"DataType": "String"}},
        {"sect§ion": {"DataType": "String", "StringValue": "v"}},
        # invalid characters in a value: InvalidParameterValue (in a body it is InvalidMessageContents)
        {"x": {"DataType": "String", "StringValue": "bell\x07"}},
    ):
        with client_error("InvalidParameterValue", 400):
            sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=bad)
    assert fs.queue_attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"


def test_attribute_names_may_hold_letters_of_any_script(sqs, queue):
    url = queue("unicodenames")
    attrs = {"attr.1øßä": {"DataType": "String", "StringValue": "v"}, "名前": {"DataType": "Number", "StringValue": "1"}}
    r = sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes=attrs)
    assert r["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    m = _one(sqs, url, MessageAttributeNames=["All"])
    assert m["MessageAttributes"] == attrs


def test_send_message_delay_seconds(sqs, queue):
    url = queue("delay")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=2)
    sqs.send_message(QueueUrl=url, MessageBody="now")
    attrs = fs.queue_attrs(sqs, url)
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
    assert attrs["ApproximateNumberOfMessages"] == "1"
    assert [m["Body"] for m in fs.receive_all(sqs, url, 1)] == ["now"]
    # "now" is in flight now; "later" shows up once its 2 s delay is over
    assert [m["Body"] for m in fs.receive_all(sqs, url, 1, timeout=6)] == ["later"]


def test_queue_delay_seconds_default(sqs, queue):
    url = queue("qdelay", attributes={"DelaySeconds": "2"})
    sqs.send_message(QueueUrl=url, MessageBody="queue-delayed")
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages", []) == []
    # per-message DelaySeconds=0 overrides the queue default
    sqs.send_message(QueueUrl=url, MessageBody="immediate", DelaySeconds=0)
    assert [m["Body"] for m in fs.receive_all(sqs, url, 1)] == ["immediate"]
    assert [m["Body"] for m in fs.receive_all(sqs, url, 1, timeout=6)] == ["queue-delayed"]


# --------------------------------------------------------------------------- SendMessageBatch


def test_send_message_batch_mixed(sqs, queue):
    url = queue("batch")
    entries = [
        {"Id": "ok1", "MessageBody": "first", "MessageAttributes": {"k": ATTRS["str"]}},
        {"Id": "bad", "MessageBody": "nul\x00"},
        {"Id": "ok_2", "MessageBody": "second", "DelaySeconds": 0},
        {
            "Id": "traced-3",
            "MessageBody": "third",
            "MessageSystemAttributes": {
                "AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-a-b"}
            },
        },
    ]
    r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
    ok = {e["Id"]: e for e in r["Successful"]}
    assert set(ok) == {"ok1", "ok_2", "traced-3"}
    assert ok["ok1"]["MD5OfMessageBody"] == md5_hex("first")
    assert ok["ok1"]["MD5OfMessageAttributes"] == md5_of_attributes({"k": ATTRS["str"]})
    assert "MD5OfMessageAttributes" not in ok["ok_2"]
    assert ok["traced-3"]["MD5OfMessageSystemAttributes"] == md5_of_attributes(
        entries[3]["MessageSystemAttributes"]
    )
    assert len({e["MessageId"] for e in ok.values()}) == 3
    assert len(r["Failed"]) == 1
    failed = r["Failed"][0]
    assert failed["Id"] == "bad"
    assert failed["SenderFault"] is True
    assert failed["Code"] == "InvalidMessageContents"
    assert failed.get("Message")
    got = fs.receive_all(sqs, url, 3)
    assert sorted(m["Body"] for m in got) == ["first", "second", "third"]


def test_send_message_batch_request_errors(sqs, sqs_unvalidated, queue):
    url = queue("batcherr")
    with client_error(
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", 400, "BatchEntryIdsNotDistinct"
    ):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": "same", "MessageBody": "a"}, {"Id": "same", "MessageBody": "b"}],
        )
    with client_error("AWS.SimpleQueueService.EmptyBatchRequest", 400, "EmptyBatchRequest"):
        sqs_unvalidated.send_message_batch(QueueUrl=url, Entries=[])
    with client_error(
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", 400, "TooManyEntriesInBatchRequest"
    ):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": "x"} for i in range(11)]
        )
    with client_error("AWS.SimpleQueueService.BatchRequestTooLong", 400, "BatchRequestTooLong"):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": f"big{i}", "MessageBody": "z" * 600_000} for i in range(2)],
        )
    with client_error("AWS.SimpleQueueService.InvalidBatchEntryId", 400, "InvalidBatchEntryId"):
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "bad id!", "MessageBody": "a"}])
    # none of the rejected batches enqueued anything
    assert fs.queue_attrs(sqs, url, "ApproximateNumberOfMessages")["ApproximateNumberOfMessages"] == "0"


# --------------------------------------------------------------------------- PurgeQueue


def test_purge_queue(sqs, queue):
    url = queue("purge")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(4)]
    )
    inflight = fs.receive_all(sqs, url, 1)
    assert len(inflight) == 1
    sqs.purge_queue(QueueUrl=url)
    attrs = fs.queue_attrs(sqs, url)
    assert attrs["ApproximateNumberOfMessages"] == "0"
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
    assert sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", []) == []
    with client_error(
        "AWS.SimpleQueueService.PurgeQueueInProgress", 403, "PurgeQueueInProgress"
    ):
        sqs.purge_queue(QueueUrl=url)
    # the queue itself still works
    sqs.send_message(QueueUrl=url, MessageBody="after purge")
    assert [m["Body"] for m in fs.receive_all(sqs, url, 1)] == ["after purge"]


def test_purge_nonexistent_queue(sqs, queue):
    url = queue("purgegone")
    with client_error("AWS.SimpleQueueService.NonExistentQueue", 400):
        sqs.purge_queue(QueueUrl=url + "-gone")
