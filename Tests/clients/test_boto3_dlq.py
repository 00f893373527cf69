"""boto3: dead-letter queues, ListDeadLetterSourceQueues and message move tasks."""

import json
import time

import ferry_support as fs
from ferry_support import client_error, wait_until


def _count(sqs, url, name="ApproximateNumberOfMessages"):
    return int(fs.queue_attrs(sqs, url, name)[name])


def _redrive(arn, n=1):
    return {"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": n})}


def _tasks(sqs, arn, **kw):
    return sqs.list_message_move_tasks(SourceArn=arn, **kw).get("Results", [])


def test_redrive_to_dlq_and_move_back(sqs, queue, queue_arn):
    dlq = queue("dlq")
    dlq_arn = queue_arn(dlq)
    src = queue("src", attributes=_redrive(dlq_arn, 1))
    src_arn = queue_arn(src)

    policy = json.loads(fs.queue_attrs(sqs, src, "RedrivePolicy")["RedrivePolicy"])
    assert policy["deadLetterTargetArn"] == dlq_arn
    assert int(policy["maxReceiveCount"]) == 1

    sent = sqs.send_message(QueueUrl=src, MessageBody="doomed")
    first = fs.receive_all(sqs, src, 1, VisibilityTimeout=0, MessageSystemAttributeNames=["All"])
    assert [m["Body"] for m in first] == ["doomed"]
    # the next receive exceeds maxReceiveCount: the message goes to the DLQ instead
    second = sqs.receive_message(QueueUrl=src, VisibilityTimeout=0, WaitTimeSeconds=1)
    assert second.get("Messages", []) == []
    wait_until(lambda: _count(sqs, dlq) == 1, desc="message in the DLQ")
    assert _count(sqs, src) == 0

    dead = fs.receive_all(sqs, dlq, 1, VisibilityTimeout=0, MessageSystemAttributeNames=["All"])
    assert [m["Body"] for m in dead] == ["doomed"]
    assert dead[0]["MessageId"] == sent["MessageId"]
    assert dead[0]["Attributes"]["DeadLetterQueueSourceArn"] == src_arn
    # it keeps its receive count (one receive in the source queue, this one in the dead-letter queue)
    assert dead[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert (
        dead[0]["Attributes"]["ApproximateFirstReceiveTimestamp"]
        == first[0]["Attributes"]["ApproximateFirstReceiveTimestamp"]
    )

    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]

    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    back = fs.receive_all(sqs, src, 1, timeout=10)
    assert [m["Body"] for m in back] == ["doomed"]

    tasks = _tasks(sqs, dlq_arn)
    assert len(tasks) == 1
    assert tasks[0]["SourceArn"] == dlq_arn
    assert tasks[0]["Status"] in ("RUNNING", "COMPLETED")
    done = wait_until(
        lambda: [t for t in _tasks(sqs, dlq_arn) if t["Status"] == "COMPLETED"],
        desc="move task COMPLETED",
    )[0]
    assert done["ApproximateNumberOfMessagesMoved"] == 1
    assert "TaskHandle" not in done  # only RUNNING tasks carry a handle
    assert "DestinationArn" not in done or not done["DestinationArn"]
    assert isinstance(done["StartedTimestamp"], int) and done["StartedTimestamp"] > 0
    assert _count(sqs, dlq) == 0


def test_list_dead_letter_source_queues_paging(sqs, queue, queue_arn):
    dlq = queue("dlq2")
    arn = queue_arn(dlq)
    sources = sorted(queue(f"src{i}", attributes=_redrive(arn, 5)) for i in range(3))
    queue("unrelated")
    assert sorted(sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"]) == sources
    seen, token = [], None
    for _ in range(10):
        kw = {"QueueUrl": dlq, "MaxResults": 1}
        if token:
            kw["NextToken"] = token
        page = sqs.list_dead_letter_source_queues(**kw)
        assert len(page["queueUrls"]) <= 1
        seen += page["queueUrls"]
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == sources
    assert sqs.list_dead_letter_source_queues(QueueUrl=sources[0]).get("queueUrls", []) == []
    with client_error("AWS.SimpleQueueService.NonExistentQueue", 400):
        sqs.list_dead_letter_source_queues(QueueUrl=dlq + "-gone")


def test_redrive_policy_validation(sqs, queue):
    url = queue("rp")
    missing = fs.expected_arn(fs.unique_name("missing-dlq"))
    # the target must exist (AWS wording varies; any of these codes, always a 400)
    with client_error({"InvalidParameterValue", "InvalidAttributeValue",
                       "AWS.SimpleQueueService.NonExistentQueue"}, 400):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(
            {"deadLetterTargetArn": missing, "maxReceiveCount": 3})})
    for policy in (
        {"maxReceiveCount": 3},
        {"deadLetterTargetArn": fs.expected_arn(fs.queue_name(url)), "maxReceiveCount": 0},
        {"deadLetterTargetArn": fs.expected_arn(fs.queue_name(url)), "maxReceiveCount": 1001},
    ):
        with client_error({"InvalidParameterValue", "InvalidAttributeValue"}, 400):
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(policy)})


def test_move_task_with_destination_list_and_cancel(sqs, queue, queue_arn):
    dlq = queue("dlq3")
    dlq_arn = queue_arn(dlq)
    queue("src3", attributes=_redrive(dlq_arn, 2))
    dest = queue("dest")
    dest_arn = queue_arn(dest)

    # task 1: one message, runs to completion
    sqs.send_message(QueueUrl=dlq, MessageBody="quick")
    t1 = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=dest_arn)["TaskHandle"]
    wait_until(
        lambda: [t for t in _tasks(sqs, dlq_arn) if t["Status"] == "COMPLETED"],
        desc="task 1 COMPLETED",
    )
    assert [m["Body"] for m in fs.receive_all(sqs, dest, 1)] == ["quick"]

    # task 2: ten messages at 1 msg/s is still RUNNING right after start
    sqs.send_message_batch(
        QueueUrl=dlq, Entries=[{"Id": str(i), "MessageBody": f"slow{i}"} for i in range(10)]
    )
    t2 = sqs.start_message_move_task(
        SourceArn=dlq_arn, DestinationArn=dest_arn, MaxNumberOfMessagesPerSecond=1
    )["TaskHandle"]
    assert t2 != t1
    newest = _tasks(sqs, dlq_arn)  # default MaxResults is 1, newest first
    assert len(newest) == 1
    assert newest[0]["Status"] == "RUNNING"
    assert newest[0]["TaskHandle"] == t2
    assert newest[0]["DestinationArn"] == dest_arn
    assert newest[0]["MaxNumberOfMessagesPerSecond"] == 1
    both = _tasks(sqs, dlq_arn, MaxResults=10)
    assert len(both) == 2 and both[0].get("TaskHandle") == t2
    assert both[1]["Status"] == "COMPLETED" and both[1]["ApproximateNumberOfMessagesMoved"] == 1

    cancelled = sqs.cancel_message_move_task(TaskHandle=t2)
    moved = cancelled["ApproximateNumberOfMessagesMoved"]
    assert isinstance(moved, int) and 0 <= moved < 10
    final = wait_until(
        lambda: [t for t in _tasks(sqs, dlq_arn) if t["Status"] == "CANCELLED"],
        desc="task 2 CANCELLED",
    )[0]
    time.sleep(0.5)
    # moved messages stay moved, the rest stays in the DLQ: nothing is lost
    in_dest = _count(sqs, dest)
    assert in_dest + _count(sqs, dlq) == 10
    assert final["ApproximateNumberOfMessagesMoved"] == in_dest


def test_move_task_errors(sqs, queue, queue_arn):
    with client_error("ResourceNotFoundException", 404, "ResourceNotFoundException"):
        sqs.start_message_move_task(SourceArn=fs.expected_arn(fs.unique_name("nope")))
    with client_error("ResourceNotFoundException", 404):
        sqs.cancel_message_move_task(TaskHandle="not-a-task-handle")
    with client_error("ResourceNotFoundException", 404):
        sqs.list_message_move_tasks(SourceArn=fs.expected_arn(fs.unique_name("nope")))
