"""Access keys belong to accounts (`--credentials KEY:SECRET:ACCOUNT`): a key sees and touches only its
account's queues. QueueUrl, ARN and ListQueues are per account, as SQS separates accounts; two accounts
may each have a queue of the same name. Run on a node of 4 shards, so that queues of both accounts are
spread over shards and routed by name and by ARN."""

import json
import os
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

import ferry_support as fs

pytestmark = pytest.mark.skipif(bool(os.environ.get("FERRY_ENDPOINT")), reason="starts its own server")

SECOND_KEY = "AKIDSECONDACCOUNT"
SECOND_SECRET = "second-account-secret"
SECOND_ACCOUNT = "111111111111"


def error_code(call):
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"]


def count(sqs, url):
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def arn_of(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


@pytest.fixture(scope="module")
def server(start_ferry):
    return start_ferry(["--shards", "4", "--credentials", f"{SECOND_KEY}:{SECOND_SECRET}:{SECOND_ACCOUNT}"])


@pytest.mark.ferry_timeout(120)
def test_a_second_account_cannot_list_read_or_delete_the_first_accounts_queues(server):
    first = fs.make_sqs_client(server.endpoint)
    second = fs.make_sqs_client(server.endpoint, key=SECOND_KEY, secret=SECOND_SECRET)
    names = [fs.unique_name(f"acct{i}") for i in range(6)]
    first_urls = {name: first.create_queue(QueueName=name)["QueueUrl"] for name in names}
    for url in first_urls.values():
        first.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"a{i}"} for i in range(3)])
        assert "/000000000000/" in url

    # Listing: the second account sees none of the first's queues.
    assert "QueueUrls" not in second.list_queues()
    assert "QueueUrls" not in second.list_queues(QueueNamePrefix="ft-acct")

    for name, url in first_urls.items():
        # Reading, writing and deleting by the first account's URL: that queue does not exist for it.
        for call in (
            lambda: second.receive_message(QueueUrl=url, MaxNumberOfMessages=10),
            lambda: second.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
            lambda: second.send_message(QueueUrl=url, MessageBody="intruder"),
            lambda: second.purge_queue(QueueUrl=url),
            lambda: second.delete_queue(QueueUrl=url),
            lambda: second.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "5"}),
            lambda: second.list_queue_tags(QueueUrl=url),
            lambda: second.get_queue_url(QueueName=name),
            lambda: second.get_queue_url(QueueName=name, QueueOwnerAWSAccountId="000000000000"),
        ):
            assert error_code(call) == "AWS.SimpleQueueService.NonExistentQueue"
        # The bare queue name as QueueUrl is the caller's own account's queue.
        assert error_code(lambda: second.receive_message(QueueUrl=name)) == "AWS.SimpleQueueService.NonExistentQueue"

    # A receipt handle of the first account's message does not reach across either.
    url = first_urls[names[0]]
    handle = first.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"][0][
        "ReceiptHandle"
    ]
    assert error_code(lambda: second.delete_message(QueueUrl=url, ReceiptHandle=handle)) == (
        "AWS.SimpleQueueService.NonExistentQueue"
    )

    # A queue of the same name in the second account is its own queue.
    own = second.create_queue(QueueName=names[0])["QueueUrl"]
    assert own.endswith(f"/{SECOND_ACCOUNT}/{names[0]}")
    assert arn_of(second, own) == f"arn:aws:sqs:us-east-1:{SECOND_ACCOUNT}:{names[0]}"
    assert count(second, own) == 0
    second.send_message(QueueUrl=own, MessageBody="second's own")
    received = second.receive_message(QueueUrl=own, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [m["Body"] for m in received] == ["second's own"]
    assert second.list_queues()["QueueUrls"] == [own]
    assert second.get_queue_url(QueueName=names[0])["QueueUrl"] == own
    second.delete_message(QueueUrl=own, ReceiptHandle=received[0]["ReceiptHandle"])

    # The first account's queues are untouched, and it does not see the second's.
    listed = first.list_queues(QueueNamePrefix="ft-acct")["QueueUrls"]
    assert sorted(listed) == sorted(u for u in first_urls.values())
    for url in first_urls.values():
        assert count(first, url) == 3
    assert arn_of(first, first_urls[names[0]]) == f"arn:aws:sqs:us-east-1:000000000000:{names[0]}"

    # Deleting its own queue of that name leaves the first account's.
    second.delete_queue(QueueUrl=own)
    assert count(first, first_urls[names[0]]) == 3


@pytest.mark.ferry_timeout(120)
def test_dead_letter_queues_and_redrive_stay_within_an_account(server):
    first = fs.make_sqs_client(server.endpoint)
    second = fs.make_sqs_client(server.endpoint, key=SECOND_KEY, secret=SECOND_SECRET)
    first_dlq = first.create_queue(QueueName=fs.unique_name("dlqa"))["QueueUrl"]
    first_dlq_arn = arn_of(first, first_dlq)
    first.send_message(QueueUrl=first_dlq, MessageBody="first's dead letter")

    # The second account cannot name the first's queue as its dead-letter queue, nor redrive it.
    policy = json.dumps({"deadLetterTargetArn": first_dlq_arn, "maxReceiveCount": 1})
    assert error_code(
        lambda: second.create_queue(QueueName=fs.unique_name("src"), Attributes={"RedrivePolicy": policy})
    ) == "InvalidParameterValue"
    assert error_code(lambda: second.start_message_move_task(SourceArn=first_dlq_arn)) == "ResourceNotFoundException"
    assert error_code(lambda: second.list_message_move_tasks(SourceArn=first_dlq_arn)) == "ResourceNotFoundException"

    # Within its own account, dead-lettering and a redrive work as usual.
    dlq = second.create_queue(QueueName=fs.unique_name("dlqb"))["QueueUrl"]
    dlq_arn = arn_of(second, dlq)
    assert dlq_arn.startswith(f"arn:aws:sqs:us-east-1:{SECOND_ACCOUNT}:")
    source = second.create_queue(
        QueueName=fs.unique_name("srcb"),
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
            "VisibilityTimeout": "0",
        },
    )["QueueUrl"]
    assert second.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [source]
    second.send_message_batch(QueueUrl=source, Entries=[{"Id": str(i), "MessageBody": f"b{i}"} for i in range(4)])
    # Received once, then moved by the next receive (through the outbox when the queues' shards differ).
    for _ in range(100):
        second.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
        if count(second, dlq) == 4:
            break
        time.sleep(0.1)
    assert count(second, dlq) == 4
    attributes = second.receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=1, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
    )["Messages"][0]["Attributes"]
    assert attributes["DeadLetterQueueSourceArn"] == arn_of(second, source)
    task = second.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert error_code(lambda: first.cancel_message_move_task(TaskHandle=task)) == "ResourceNotFoundException"
    for _ in range(50):
        if count(second, dlq) == 0 and count(second, source) == 4:
            break
        time.sleep(0.2)
    assert count(second, dlq) == 0 and count(second, source) == 4
    assert count(first, first_dlq) == 1


@pytest.mark.ferry_timeout(60)
def test_a_second_accounts_key_cannot_administer_the_cluster(server):
    def status(credentials):
        return subprocess.run(
            [fs.resolve_ferry_bin(), "cluster", "status", "--endpoint", server.endpoint, "--credentials", credentials],
            capture_output=True, text=True, timeout=30,
        )

    refused = status(f"{SECOND_KEY}:{SECOND_SECRET}")
    assert refused.returncode != 0
    assert "AccessDenied" in refused.stdout + refused.stderr
    # The node's own account may (a node alone answers that it has no cluster configuration).
    allowed = status(f"{fs.ACCESS_KEY}:{fs.SECRET_KEY}")
    assert "AccessDenied" not in allowed.stdout + allowed.stderr
    assert allowed.returncode == 0 or "no cluster configuration" in allowed.stderr
