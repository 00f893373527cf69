"""boto3: queue lifecycle, attributes, tags and permissions."""

import json
import time

import pytest

import ferry_support as fs
from ferry_support import client_error

NONEXISTENT = "AWS.SimpleQueueService.NonExistentQueue"


# --------------------------------------------------------------------------- CreateQueue


def test_create_queue_url_and_defaults(sqs, queue, endpoint):
    url = queue("defaults")
    name = fs.queue_name(url)
    assert url == f"{endpoint}/{fs.ACCOUNT_ID}/{name}"
    attrs = fs.queue_attrs(sqs, url)
    assert attrs["VisibilityTimeout"] == "30"
    assert attrs["MaximumMessageSize"] == "1048576"
    assert attrs["MessageRetentionPeriod"] == "345600"
    assert attrs["DelaySeconds"] == "0"
    assert attrs["ReceiveMessageWaitTimeSeconds"] == "0"
    assert attrs["QueueArn"] == fs.expected_arn(name)
    for counter in (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ):
        assert attrs[counter] == "0"
    now = time.time()
    for ts in ("CreatedTimestamp", "LastModifiedTimestamp"):
        assert abs(int(attrs[ts]) - now) < 600, f"{ts} must be epoch seconds: {attrs[ts]}"
    assert "FifoQueue" not in attrs or attrs["FifoQueue"] == "false"
    # every attribute value is a string
    assert all(isinstance(v, str) for v in attrs.values())


def test_create_queue_with_attributes_and_tags(sqs, queue):
    url = queue(
        "attrs",
        attributes={
            "VisibilityTimeout": "45",
            "DelaySeconds": "5",
            "MaximumMessageSize": "2048",
            "MessageRetentionPeriod": "600",
            "ReceiveMessageWaitTimeSeconds": "3",
        },
        tags={"team": "ferry", "Env": "Test"},
    )
    attrs = fs.queue_attrs(sqs, url)
    assert attrs["VisibilityTimeout"] == "45"
    assert attrs["DelaySeconds"] == "5"
    assert attrs["MaximumMessageSize"] == "2048"
    assert attrs["MessageRetentionPeriod"] == "600"
    assert attrs["ReceiveMessageWaitTimeSeconds"] == "3"
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "ferry", "Env": "Test"}


def test_create_queue_idempotent_and_name_exists(sqs, queue):
    name = fs.unique_name("idem")
    url = queue(name=name, attributes={"VisibilityTimeout": "60"})
    again = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "60"})
    assert again["QueueUrl"] == url
    with client_error("QueueAlreadyExists", 400, "QueueNameExists"):
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "61"})
    # the failed create changed nothing
    assert fs.queue_attrs(sqs, url, "VisibilityTimeout")["VisibilityTimeout"] == "60"


@pytest.mark.parametrize(
    "name",
    ["", "has space", "dot.name", "x" * 81, "bad/slash", "ünïcode", "star*"],
    ids=["empty", "space", "dot", "81chars", "slash", "unicode", "star"],
)
def test_create_queue_invalid_names(sqs_unvalidated, name):
    with client_error("InvalidParameterValue", 400):
        sqs_unvalidated.create_queue(QueueName=name)


def test_create_queue_name_limits_ok(sqs, queue):
    name = "N" + fs.unique_name("a")[1:]
    name = (name + "_-" * 40)[:80]
    url = queue(name=name)
    assert fs.queue_name(url) == name
    fifo = (fs.unique_name("f") + "_" * 80)[:75] + ".fifo"
    assert len(fifo) == 80
    assert fs.queue_name(queue(name=fifo, fifo=True)) == fifo


def test_create_queue_fifo_name_rules(sqs, queue):
    # FifoQueue=true requires the .fifo suffix
    with client_error("InvalidParameterValue", 400):
        sqs.create_queue(QueueName=fs.unique_name("nofifo"), Attributes={"FifoQueue": "true"})
    # a .fifo name without FifoQueue=true is not a valid standard queue name
    with client_error("InvalidParameterValue", 400):
        sqs.create_queue(QueueName=fs.unique_name("std", fifo=True))
    # 81 characters including .fifo
    with client_error("InvalidParameterValue", 400):
        sqs.create_queue(QueueName="f" * 76 + ".fifo", Attributes={"FifoQueue": "true"})
    url = queue("fifo", fifo=True)
    assert url.endswith(".fifo")
    attrs = fs.queue_attrs(sqs, url)
    assert attrs["FifoQueue"] == "true"
    assert attrs["ContentBasedDeduplication"] == "false"


def test_queue_deleted_recently(sqs):
    name = fs.unique_name("recent")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with client_error("AWS.SimpleQueueService.QueueDeletedRecently", 400, "QueueDeletedRecently"):
        sqs.create_queue(QueueName=name)


# --------------------------------------------------------------------------- GetQueueUrl / ListQueues / DeleteQueue


def test_get_queue_url(sqs, queue):
    url = queue("geturl")
    assert sqs.get_queue_url(QueueName=fs.queue_name(url))["QueueUrl"] == url
    assert (
        sqs.get_queue_url(QueueName=fs.queue_name(url), QueueOwnerAWSAccountId=fs.ACCOUNT_ID)[
            "QueueUrl"
        ]
        == url
    )


def test_a_bare_queue_name_is_taken_as_the_queue_url(sqs, queue):
    url = queue("barename")
    name = fs.queue_name(url)
    sqs.send_message(QueueUrl=name, MessageBody="by name")
    got = fs.receive_all(sqs, name, 1)
    assert [m["Body"] for m in got] == ["by name"]
    sqs.delete_message(QueueUrl=name, ReceiptHandle=got[0]["ReceiptHandle"])
    assert fs.queue_attrs(sqs, name, "QueueArn")["QueueArn"].endswith(":" + name)
    with client_error(NONEXISTENT, 400):
        sqs.send_message(QueueUrl=fs.unique_name("nope"), MessageBody="x")


def test_get_queue_url_nonexistent(sqs):
    with client_error(NONEXISTENT, 400, "QueueDoesNotExist") as ei:
        sqs.get_queue_url(QueueName=fs.unique_name("nope"))
    assert ei.value.response["Error"]["Type"] == "Sender"
    assert ei.value.response["Error"]["Message"]
    # botocore maps the modeled exception from the shape name
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=fs.unique_name("nope"))


def test_list_queues_prefix_and_paging(sqs, queue):
    prefix = fs.unique_name("lq")
    urls = sorted(queue(name=f"{prefix}-{i}") for i in range(3))
    other = queue("other")
    listed = sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])
    assert sorted(listed) == urls
    assert other in sqs.list_queues().get("QueueUrls", [])
    assert sqs.list_queues(QueueNamePrefix=prefix + "-nomatch").get("QueueUrls", []) == []

    seen, token = [], None
    for _ in range(10):
        kw = {"QueueNamePrefix": prefix, "MaxResults": 1}
        if token:
            kw["NextToken"] = token
        page = sqs.list_queues(**kw)
        assert len(page.get("QueueUrls", [])) <= 1
        seen += page.get("QueueUrls", [])
        token = page.get("NextToken")
        if not token:
            break
    assert sorted(seen) == urls

    page = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2)
    assert len(page["QueueUrls"]) == 2 and page.get("NextToken")
    rest = sqs.list_queues(QueueNamePrefix=prefix, MaxResults=2, NextToken=page["NextToken"])
    assert sorted(page["QueueUrls"] + rest["QueueUrls"]) == urls


def test_list_queues_max_results_out_of_range(sqs_unvalidated):
    for bad in (0, 1001):
        with client_error("InvalidParameterValue", 400):
            sqs_unvalidated.list_queues(MaxResults=bad)


def test_delete_queue(sqs):
    name = fs.unique_name("del")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="left behind")
    sqs.delete_queue(QueueUrl=url)
    with client_error(NONEXISTENT, 400, "QueueDoesNotExist"):
        sqs.get_queue_url(QueueName=name)
    assert url not in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])
    with client_error(NONEXISTENT, 400, "QueueDoesNotExist"):
        sqs.delete_queue(QueueUrl=url)
    with client_error(NONEXISTENT, 400):
        sqs.send_message(QueueUrl=url, MessageBody="x")


# --------------------------------------------------------------------------- Get/SetQueueAttributes


def test_get_queue_attributes_selection(sqs, queue):
    url = queue("sel")
    r = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout", "QueueArn"])
    assert set(r["Attributes"]) == {"VisibilityTimeout", "QueueArn"}
    # no names -> empty result
    assert sqs.get_queue_attributes(QueueUrl=url).get("Attributes", {}) == {}


def test_set_queue_attributes(sqs, queue):
    url = queue("set")
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={"VisibilityTimeout": "0", "DelaySeconds": "900", "MaximumMessageSize": "1024"},
    )
    attrs = fs.queue_attrs(sqs, url)
    assert (attrs["VisibilityTimeout"], attrs["DelaySeconds"], attrs["MaximumMessageSize"]) == (
        "0", "900", "1024",
    )
    sqs.set_queue_attributes(
        QueueUrl=url,
        Attributes={
            "VisibilityTimeout": "43200",
            "MessageRetentionPeriod": "1209600",
            "ReceiveMessageWaitTimeSeconds": "20",
            "MaximumMessageSize": "1048576",
        },
    )
    attrs = fs.queue_attrs(sqs, url)
    assert attrs["VisibilityTimeout"] == "43200"
    assert attrs["MessageRetentionPeriod"] == "1209600"
    assert attrs["ReceiveMessageWaitTimeSeconds"] == "20"
    assert attrs["MaximumMessageSize"] == "1048576"


@pytest.mark.parametrize(
    "name,value",
    [
        ("VisibilityTimeout", "43201"),
        ("VisibilityTimeout", "-1"),
        ("VisibilityTimeout", "abc"),
        ("DelaySeconds", "901"),
        ("MaximumMessageSize", "1023"),
        ("MaximumMessageSize", "1048577"),
        ("MessageRetentionPeriod", "59"),
        ("MessageRetentionPeriod", "1209601"),
        ("ReceiveMessageWaitTimeSeconds", "21"),
        ("RedrivePolicy", "not json"),
    ],
)
def test_set_queue_attributes_invalid_value(sqs, queue, name, value):
    url = queue("badval")
    with client_error("InvalidAttributeValue", 400, "InvalidAttributeValue"):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={name: value})
    with client_error("InvalidAttributeValue", 400):
        sqs.create_queue(QueueName=fs.unique_name("badval"), Attributes={name: value})


def test_unknown_attribute_names(sqs, queue):
    url = queue("badname")
    with client_error("InvalidAttributeName", 400, "InvalidAttributeName"):
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Bogus": "1"})
    with client_error("InvalidAttributeName", 400):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Bogus"])
    with client_error("InvalidAttributeName", 400):
        sqs.create_queue(QueueName=fs.unique_name("badname"), Attributes={"Bogus": "1"})


def test_fifo_queue_attribute_is_create_only(sqs, queue):
    url = queue("noflip")
    for value in ("true", "false"):
        with client_error("InvalidAttributeValue", 400) as caught:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": value})
        assert "Modifying queue type is not supported." in str(caught.value)


def test_standard_queue_takes_no_fifo_attributes(sqs):
    """As recorded on AWS: FifoQueue (even false) is unknown to a standard queue."""
    with client_error("InvalidAttributeName", 400) as caught:
        sqs.create_queue(QueueName=fs.unique_name("std"), Attributes={"FifoQueue": "false"})
    assert "Unknown Attribute FifoQueue." in str(caught.value)
    with client_error("InvalidAttributeName", 400) as caught:
        sqs.create_queue(QueueName=fs.unique_name("std"), Attributes={"DeduplicationScope": "queue"})
    assert "You can specify the DeduplicationScope only when FifoQueue is set to true." in str(caught.value)


def test_queue_already_exists_names_the_first_differing_attribute(sqs):
    name = fs.unique_name("exists")
    sqs.create_queue(QueueName=name, Attributes={"DelaySeconds": "5", "VisibilityTimeout": "40"})
    with client_error("QueueAlreadyExists", 400) as caught:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "40", "DelaySeconds": "6"})
    assert caught.value.response["Error"]["Message"] == (
        "A queue already exists with the same name and a different value for attribute DelaySeconds")


# --------------------------------------------------------------------------- tags


def test_tag_untag_list_tags(sqs, queue):
    url = queue("tags")
    assert sqs.list_queue_tags(QueueUrl=url).get("Tags", {}) == {}
    sqs.tag_queue(QueueUrl=url, Tags={"a": "1", "B": "2", "c": ""})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "1", "B": "2", "c": ""}
    sqs.tag_queue(QueueUrl=url, Tags={"a": "overwritten", "b": "lower"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {
        "a": "overwritten", "B": "2", "b": "lower", "c": "",
    }
    sqs.untag_queue(QueueUrl=url, TagKeys=["B", "c", "not-there"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"a": "overwritten", "b": "lower"}
    missing = f"{url}-missing"
    with client_error(NONEXISTENT, 400):
        sqs.list_queue_tags(QueueUrl=missing)
    with client_error(NONEXISTENT, 400):
        sqs.tag_queue(QueueUrl=missing, Tags={"a": "b"})


# --------------------------------------------------------------------------- permissions


def _statements(sqs, url):
    policy = fs.queue_attrs(sqs, url).get("Policy")
    if not policy:
        return []
    doc = json.loads(policy)
    return doc.get("Statement", [])


def _actions(stmt):
    acts = stmt["Action"]
    return {a.lower() for a in ([acts] if isinstance(acts, str) else acts)}


def test_add_remove_permission(sqs, queue):
    url = queue("perm")
    assert _statements(sqs, url) == []
    sqs.add_permission(
        QueueUrl=url, Label="lbl1", AWSAccountIds=["111122223333"], Actions=["SendMessage"]
    )
    stmts = _statements(sqs, url)
    assert [s["Sid"] for s in stmts] == ["lbl1"]
    assert stmts[0]["Effect"] == "Allow"
    assert _actions(stmts[0]) == {"sqs:sendmessage"}
    assert "111122223333" in json.dumps(stmts[0]["Principal"])
    assert stmts[0]["Resource"] == fs.queue_attrs(sqs, url, "QueueArn")["QueueArn"]

    sqs.add_permission(
        QueueUrl=url,
        Label="lbl2",
        AWSAccountIds=["111122223333", "444455556666"],
        Actions=["ReceiveMessage", "DeleteMessage"],
    )
    stmts = {s["Sid"]: s for s in _statements(sqs, url)}
    assert set(stmts) == {"lbl1", "lbl2"}
    assert _actions(stmts["lbl2"]) == {"sqs:receivemessage", "sqs:deletemessage"}

    sqs.remove_permission(QueueUrl=url, Label="lbl1")
    assert [s["Sid"] for s in _statements(sqs, url)] == ["lbl2"]
    with client_error("InvalidParameterValue", 400):
        sqs.remove_permission(QueueUrl=url, Label="lbl1")
    sqs.remove_permission(QueueUrl=url, Label="lbl2")
    assert _statements(sqs, url) == []


def test_add_permission_limits(sqs, queue):
    url = queue("permlim")
    sqs.add_permission(QueueUrl=url, Label="dup", AWSAccountIds=["111122223333"], Actions=["*"])
    with client_error("InvalidParameterValue", 400):
        sqs.add_permission(
            QueueUrl=url, Label="dup", AWSAccountIds=["111122223333"], Actions=["SendMessage"]
        )
    eight = [
        "SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility",
        "GetQueueAttributes", "GetQueueUrl", "PurgeQueue", "ListDeadLetterSourceQueues",
    ]
    with client_error("OverLimit", 403, "OverLimit"):
        sqs.add_permission(QueueUrl=url, Label="many", AWSAccountIds=["111122223333"], Actions=eight)
