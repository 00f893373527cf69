"""AWS CLI v1 (python3 -m awscli) against Ferry: every SQS action at least once."""

import json

import pytest

import ferry_support as fs
from ferry_support import AwsCliError, md5_hex, md5_of_attributes


@pytest.fixture
def cli_queue(aws, sqs):
    """Create queues through the CLI; delete them (via boto3) afterwards."""
    made = []

    def make(hint, attributes=None, fifo=False):
        name = fs.unique_name(f"cli-{hint}", fifo=fifo)
        args = ["create-queue", "--queue-name", name]
        attrs = dict(attributes or {})
        if fifo:
            attrs["FifoQueue"] = "true"
        if attrs:
            args += ["--attributes", json.dumps(attrs)]
        url = aws(*args)["QueueUrl"]
        made.append(url)
        return url

    yield make
    for url in made:
        try:
            sqs.delete_queue(QueueUrl=url)
        except Exception:
            pass


def test_cli_queue_lifecycle(aws, endpoint, sqs):
    name = fs.unique_name("cli-life")
    out = aws("create-queue", "--queue-name", name, "--attributes", '{"VisibilityTimeout":"40"}',
              "--tags", "team=ferry,tier=1")
    url = out["QueueUrl"]
    assert url == f"{endpoint}/{fs.ACCOUNT_ID}/{name}"
    try:
        assert aws("get-queue-url", "--queue-name", name) == {"QueueUrl": url}
        assert aws("list-queues", "--queue-name-prefix", name)["QueueUrls"] == [url]
        attrs = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "All")["Attributes"]
        assert attrs["VisibilityTimeout"] == "40"
        assert attrs["QueueArn"] == fs.expected_arn(name)
        assert aws("set-queue-attributes", "--queue-url", url, "--attributes", "DelaySeconds=3") == {}
        attrs = aws("get-queue-attributes", "--queue-url", url,
                    "--attribute-names", "DelaySeconds", "VisibilityTimeout")["Attributes"]
        assert attrs == {"DelaySeconds": "3", "VisibilityTimeout": "40"}

        assert aws("list-queue-tags", "--queue-url", url)["Tags"] == {"team": "ferry", "tier": "1"}
        aws("tag-queue", "--queue-url", url, "--tags", "extra=yes,tier=2")
        assert aws("list-queue-tags", "--queue-url", url)["Tags"] == {
            "team": "ferry", "tier": "2", "extra": "yes"
        }
        aws("untag-queue", "--queue-url", url, "--tag-keys", "team", "extra")
        assert aws("list-queue-tags", "--queue-url", url)["Tags"] == {"tier": "2"}

        aws("add-permission", "--queue-url", url, "--label", "cli-perm",
            "--aws-account-ids", "111122223333", "--actions", "SendMessage", "ReceiveMessage")
        policy = json.loads(aws("get-queue-attributes", "--queue-url", url,
                                "--attribute-names", "Policy")["Attributes"]["Policy"])
        assert [s["Sid"] for s in policy["Statement"]] == ["cli-perm"]
        aws("remove-permission", "--queue-url", url, "--label", "cli-perm")
        after = aws("get-queue-attributes", "--queue-url", url, "--attribute-names", "Policy")
        remaining = after.get("Attributes", {}).get("Policy")
        assert not remaining or json.loads(remaining).get("Statement", []) == []
    finally:
        assert aws("delete-queue", "--queue-url", url) == {}
    with pytest.raises(AwsCliError) as ei:
        aws("get-queue-url", "--queue-name", name)
    assert "AWS.SimpleQueueService.NonExistentQueue" in ei.value.stderr
    assert ei.value.returncode == 255  # CLI v1 exits 255 on a service error


def test_cli_messages(aws, cli_queue):
    url = cli_queue("msgs")
    attrs = {"color": {"DataType": "String", "StringValue": "blue"},
             "size": {"DataType": "Number", "StringValue": "3"}}
    out = aws("send-message", "--queue-url", url, "--message-body", "hello cli ✓",
              "--message-attributes", json.dumps(attrs))
    assert out["MD5OfMessageBody"] == md5_hex("hello cli ✓")
    assert out["MD5OfMessageAttributes"] == md5_of_attributes(attrs)

    entries = [{"Id": "a", "MessageBody": "batch-a"}, {"Id": "b", "MessageBody": "batch-b"},
               {"Id": "a", "MessageBody": "dup"}]
    with pytest.raises(AwsCliError) as ei:
        aws("send-message-batch", "--queue-url", url, "--entries", json.dumps(entries))
    assert "BatchEntryIdsNotDistinct" in ei.value.stderr
    out = aws("send-message-batch", "--queue-url", url, "--entries", json.dumps(entries[:2]))
    assert sorted(e["Id"] for e in out["Successful"]) == ["a", "b"]
    assert not out.get("Failed")

    got = []
    for _ in range(6):
        r = aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                "--wait-time-seconds", "1", "--message-attribute-names", "All",
                "--message-system-attribute-names", "All")
        got += r.get("Messages", [])
        if len(got) >= 3:
            break
    by_body = {m["Body"]: m for m in got}
    assert set(by_body) == {"hello cli ✓", "batch-a", "batch-b"}
    first = by_body["hello cli ✓"]
    assert first["MessageAttributes"] == attrs
    assert first["MD5OfMessageAttributes"] == md5_of_attributes(attrs)
    assert first["Attributes"]["ApproximateReceiveCount"] == "1"

    assert aws("delete-message", "--queue-url", url, "--receipt-handle", first["ReceiptHandle"]) == {}
    vis = aws("change-message-visibility-batch", "--queue-url", url, "--entries", json.dumps(
        [{"Id": "va", "ReceiptHandle": by_body["batch-a"]["ReceiptHandle"], "VisibilityTimeout": 0},
         {"Id": "vb", "ReceiptHandle": by_body["batch-b"]["ReceiptHandle"], "VisibilityTimeout": 0}]))
    assert sorted(e["Id"] for e in vis["Successful"]) == ["va", "vb"]

    again = []
    for _ in range(6):
        again += aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
                     "--wait-time-seconds", "1", "--visibility-timeout", "60").get("Messages", [])
        if len(again) >= 2:
            break
    assert sorted(m["Body"] for m in again) == ["batch-a", "batch-b"]
    a = next(m for m in again if m["Body"] == "batch-a")
    b = next(m for m in again if m["Body"] == "batch-b")
    assert aws("change-message-visibility", "--queue-url", url, "--receipt-handle",
               a["ReceiptHandle"], "--visibility-timeout", "120") == {}
    out = aws("delete-message-batch", "--queue-url", url, "--entries", json.dumps(
        [{"Id": "da", "ReceiptHandle": a["ReceiptHandle"]},
         {"Id": "db", "ReceiptHandle": b["ReceiptHandle"]},
         {"Id": "dx", "ReceiptHandle": "garbage"}]))
    assert sorted(e["Id"] for e in out["Successful"]) == ["da", "db"]
    assert [(f["Id"], f["Code"]) for f in out["Failed"]] == [("dx", "ReceiptHandleIsInvalid")]

    aws("send-message", "--queue-url", url, "--message-body", "to be purged")
    assert aws("purge-queue", "--queue-url", url) == {}
    with pytest.raises(AwsCliError) as ei:
        aws("purge-queue", "--queue-url", url)
    assert "PurgeQueueInProgress" in ei.value.stderr
    assert aws("receive-message", "--queue-url", url).get("Messages", []) == []


def test_cli_dead_letter_and_move_tasks(aws, cli_queue, sqs):
    dlq = cli_queue("dlq")
    dlq_arn = aws("get-queue-attributes", "--queue-url", dlq,
                  "--attribute-names", "QueueArn")["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "1"})
    src = cli_queue("src", attributes={"RedrivePolicy": policy})
    dest = cli_queue("dest")
    dest_arn = fs.queue_attrs(sqs, dest, "QueueArn")["QueueArn"]
    assert aws("list-dead-letter-source-queues", "--queue-url", dlq)["queueUrls"] == [src]

    sqs.send_message_batch(QueueUrl=dlq, Entries=[
        {"Id": str(i), "MessageBody": f"dead{i}"} for i in range(10)])
    handle = aws("start-message-move-task", "--source-arn", dlq_arn,
                 "--destination-arn", dest_arn, "--max-number-of-messages-per-second", "1")["TaskHandle"]
    listed = aws("list-message-move-tasks", "--source-arn", dlq_arn, "--max-results", "10")["Results"]
    assert listed[0]["TaskHandle"] == handle and listed[0]["Status"] == "RUNNING"
    out = aws("cancel-message-move-task", "--task-handle", handle)
    assert 0 <= out["ApproximateNumberOfMessagesMoved"] < 10
    listed = aws("list-message-move-tasks", "--source-arn", dlq_arn)["Results"]
    assert listed[0]["Status"] in ("CANCELLING", "CANCELLED")


def test_cli_fifo(aws, cli_queue):
    url = cli_queue("fifo", fifo=True, attributes={"ContentBasedDeduplication": "true"})
    s1 = aws("send-message", "--queue-url", url, "--message-body", "one", "--message-group-id", "g")
    s2 = aws("send-message", "--queue-url", url, "--message-body", "one", "--message-group-id", "g")
    assert s1["MessageId"] == s2["MessageId"]
    s3 = aws("send-message", "--queue-url", url, "--message-body", "two", "--message-group-id", "g")
    assert int(s3["SequenceNumber"]) > int(s1["SequenceNumber"])
    r = aws("receive-message", "--queue-url", url, "--max-number-of-messages", "10",
            "--wait-time-seconds", "1")
    assert [m["Body"] for m in r["Messages"]] == ["one", "two"]
