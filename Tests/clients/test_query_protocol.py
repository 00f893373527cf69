"""Raw, SigV4-signed AWS Query (form / XML) requests: every action, XML shapes, errors."""

import base64

import ferry_support as fs
from ferry_support import X, local, md5_hex, md5_of_attributes, wait_until, xml_error, xtext

NS = "{" + fs.XML_NS + "}"
NO_OUTPUT = {
    "SetQueueAttributes", "DeleteQueue", "DeleteMessage", "ChangeMessageVisibility",
    "PurgeQueue", "TagQueue", "UntagQueue", "AddPermission", "RemovePermission",
}


def ok(resp, action):
    status, headers, root = resp
    assert status == 200, (status, resp.raw[:2000])
    assert root is not None, resp.raw[:2000]
    assert headers.get("Content-Type", "").split(";")[0].strip() in ("text/xml", "application/xml")
    assert root.tag == f"{NS}{action}Response", root.tag
    assert xtext(root, "ResponseMetadata/RequestId"), "missing ResponseMetadata/RequestId"
    if action in NO_OUTPUT:
        assert [local(c.tag) for c in root] == ["ResponseMetadata"], resp.raw
        return None
    result = root.find(f"{NS}{action}Result")
    assert result is not None, resp.raw[:2000]
    assert [local(c.tag) for c in root] == [f"{action}Result", "ResponseMetadata"]
    return result


def err(resp, status, code, fault="Sender"):
    assert resp.status == status, (resp.status, resp.raw[:2000])
    etype, ecode, msg = xml_error(resp.parsed)
    assert ecode == code, resp.raw
    assert etype == fault, resp.raw
    assert msg, "error Message must not be empty"
    assert xtext(resp.parsed, "RequestId"), "ErrorResponse/RequestId missing"


def attr_map(elem, tag="Attribute"):
    return {xtext(a, "Name"): xtext(a, "Value") for a in elem.findall(X(tag))}


def test_query_queue_lifecycle(signed_query, endpoint):
    name = fs.unique_name("q-life")
    url = xtext(ok(signed_query("CreateQueue", {
        "QueueName": name,
        "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "45",
        "Attribute.2.Name": "DelaySeconds", "Attribute.2.Value": "1",
        "Tag.1.Key": "team", "Tag.1.Value": "ferry",
    }), "CreateQueue"), "QueueUrl")
    assert url == f"{endpoint}/{fs.ACCOUNT_ID}/{name}"
    try:
        # idempotent create with identical attributes
        again = ok(signed_query("CreateQueue", {
            "QueueName": name,
            "Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "1",
            "Attribute.2.Name": "VisibilityTimeout", "Attribute.2.Value": "45",
        }), "CreateQueue")
        assert xtext(again, "QueueUrl") == url
        err(signed_query("CreateQueue", {
            "QueueName": name, "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "46",
        }), 400, "QueueAlreadyExists")

        assert xtext(ok(signed_query("GetQueueUrl", {"QueueName": name}), "GetQueueUrl"), "QueueUrl") == url

        second = xtext(ok(signed_query("CreateQueue", {"QueueName": name + "-2"}), "CreateQueue"), "QueueUrl")
        listed = ok(signed_query("ListQueues", {"QueueNamePrefix": name}), "ListQueues")
        assert sorted(e.text for e in listed.findall(X("QueueUrl"))) == sorted([url, second])
        page = ok(signed_query("ListQueues", {"QueueNamePrefix": name, "MaxResults": 1}), "ListQueues")
        assert len(page.findall(X("QueueUrl"))) == 1 and xtext(page, "NextToken")
        ok(signed_query("DeleteQueue", {"QueueUrl": second}), "DeleteQueue")

        attrs = attr_map(ok(signed_query("GetQueueAttributes", {
            "QueueUrl": url, "AttributeName.1": "All"}), "GetQueueAttributes"))
        assert attrs["VisibilityTimeout"] == "45" and attrs["DelaySeconds"] == "1"
        assert attrs["QueueArn"] == fs.expected_arn(name)
        ok(signed_query("SetQueueAttributes", {
            "QueueUrl": url, "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "50"}),
            "SetQueueAttributes")
        attrs = attr_map(ok(signed_query("GetQueueAttributes", {
            "QueueUrl": url, "AttributeName.1": "VisibilityTimeout", "AttributeName.2": "QueueArn"}),
            "GetQueueAttributes"))
        assert attrs == {"VisibilityTimeout": "50", "QueueArn": fs.expected_arn(name)}
        err(signed_query("SetQueueAttributes", {
            "QueueUrl": url, "Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "99999"}),
            400, "InvalidAttributeValue")
        err(signed_query("GetQueueAttributes", {"QueueUrl": url, "AttributeName.1": "Nope"}),
            400, "InvalidAttributeName")

        ok(signed_query("TagQueue", {"QueueUrl": url, "Tag.1.Key": "a", "Tag.1.Value": "1",
                                     "Tag.2.Key": "b", "Tag.2.Value": "2"}), "TagQueue")
        tags = ok(signed_query("ListQueueTags", {"QueueUrl": url}), "ListQueueTags")
        assert {xtext(t, "Key"): xtext(t, "Value") for t in tags.findall(X("Tag"))} == {
            "team": "ferry", "a": "1", "b": "2"}
        ok(signed_query("UntagQueue", {"QueueUrl": url, "TagKey.1": "a", "TagKey.2": "team"}), "UntagQueue")
        tags = ok(signed_query("ListQueueTags", {"QueueUrl": url}), "ListQueueTags")
        assert {xtext(t, "Key"): xtext(t, "Value") for t in tags.findall(X("Tag"))} == {"b": "2"}

        ok(signed_query("AddPermission", {
            "QueueUrl": url, "Label": "qperm", "AWSAccountId.1": "111122223333",
            "AWSAccountId.2": "444455556666", "ActionName.1": "SendMessage",
            "ActionName.2": "ReceiveMessage"}), "AddPermission")
        policy = attr_map(ok(signed_query("GetQueueAttributes", {
            "QueueUrl": url, "AttributeName.1": "Policy"}), "GetQueueAttributes"))["Policy"]
        assert "qperm" in policy and "444455556666" in policy
        eight = ["SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility",
                 "GetQueueAttributes", "GetQueueUrl", "PurgeQueue", "ListDeadLetterSourceQueues"]
        params = {"QueueUrl": url, "Label": "toomany", "AWSAccountId.1": "111122223333"}
        params.update({f"ActionName.{i + 1}": a for i, a in enumerate(eight)})
        err(signed_query("AddPermission", params), 403, "OverLimit")
        ok(signed_query("RemovePermission", {"QueueUrl": url, "Label": "qperm"}), "RemovePermission")
    finally:
        ok(signed_query("DeleteQueue", {"QueueUrl": url}), "DeleteQueue")
    err(signed_query("GetQueueUrl", {"QueueName": name}), 400, "AWS.SimpleQueueService.NonExistentQueue")


def test_query_messages(signed_query, queue, sqs):
    url = queue("q-msgs")
    send = ok(signed_query("SendMessage", {
        "QueueUrl": url, "MessageBody": "query body",
        "MessageAttribute.1.Name": "s", "MessageAttribute.1.Value.DataType": "String",
        "MessageAttribute.1.Value.StringValue": "v1",
        "MessageAttribute.2.Name": "n", "MessageAttribute.2.Value.DataType": "Number",
        "MessageAttribute.2.Value.StringValue": "12",
        "MessageAttribute.3.Name": "b", "MessageAttribute.3.Value.DataType": "Binary.raw",
        "MessageAttribute.3.Value.BinaryValue": base64.b64encode(b"\x00\xffbin").decode(),
        "MessageSystemAttribute.1.Name": "AWSTraceHeader",
        "MessageSystemAttribute.1.Value.DataType": "String",
        "MessageSystemAttribute.1.Value.StringValue": "Root=1-abc",
    }), "SendMessage")
    attrs = {
        "s": {"DataType": "String", "StringValue": "v1"},
        "n": {"DataType": "Number", "StringValue": "12"},
        "b": {"DataType": "Binary.raw", "BinaryValue": b"\x00\xffbin"},
    }
    assert xtext(send, "MD5OfMessageBody") == md5_hex("query body")
    assert xtext(send, "MD5OfMessageAttributes") == md5_of_attributes(attrs)
    assert xtext(send, "MD5OfMessageSystemAttributes") == md5_of_attributes(
        {"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-abc"}})
    assert xtext(send, "MessageId")

    batch = ok(signed_query("SendMessageBatch", {
        "QueueUrl": url,
        "SendMessageBatchRequestEntry.1.Id": "one", "SendMessageBatchRequestEntry.1.MessageBody": "b1",
        "SendMessageBatchRequestEntry.2.Id": "two", "SendMessageBatchRequestEntry.2.MessageBody": "b2",
        "SendMessageBatchRequestEntry.2.DelaySeconds": "0",
        "SendMessageBatchRequestEntry.3.Id": "bad", "SendMessageBatchRequestEntry.3.MessageBody": "\x00",
    }), "SendMessageBatch")
    okd = batch.findall(X("SendMessageBatchResultEntry"))
    assert sorted(xtext(e, "Id") for e in okd) == ["one", "two"]
    bodies = {"one": "b1", "two": "b2"}
    assert all(xtext(e, "MD5OfMessageBody") == md5_hex(bodies[xtext(e, "Id")]) for e in okd)
    failed = batch.findall(X("BatchResultErrorEntry"))
    assert [(xtext(f, "Id"), xtext(f, "SenderFault"), xtext(f, "Code")) for f in failed] == [
        ("bad", "true", "InvalidMessageContents")]

    msgs = []
    for _ in range(5):
        res = ok(signed_query("ReceiveMessage", {
            "QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
            "AttributeName.1": "All", "MessageAttributeName.1": "All"}), "ReceiveMessage")
        msgs += res.findall(X("Message"))
        if len(msgs) >= 3:
            break
    by_body = {xtext(m, "Body"): m for m in msgs}
    assert set(by_body) == {"query body", "b1", "b2"}
    m = by_body["query body"]
    assert xtext(m, "MD5OfBody") == md5_hex("query body")
    assert xtext(m, "MessageId") == xtext(send, "MessageId")
    sysattrs = attr_map(m)
    assert sysattrs["ApproximateReceiveCount"] == "1" and sysattrs["AWSTraceHeader"] == "Root=1-abc"
    mattrs = {xtext(a, "Name"): a.find(X("Value")) for a in m.findall(X("MessageAttribute"))}
    assert set(mattrs) == {"s", "n", "b"}
    assert xtext(mattrs["s"], "StringValue") == "v1" and xtext(mattrs["s"], "DataType") == "String"
    assert xtext(mattrs["n"], "StringValue") == "12"
    assert base64.b64decode(xtext(mattrs["b"], "BinaryValue")) == b"\x00\xffbin"
    assert xtext(mattrs["b"], "DataType") == "Binary.raw"
    assert xtext(m, "MD5OfMessageAttributes") == md5_of_attributes(attrs)

    h = {b: xtext(x, "ReceiptHandle") for b, x in by_body.items()}
    ok(signed_query("ChangeMessageVisibility", {
        "QueueUrl": url, "ReceiptHandle": h["b1"], "VisibilityTimeout": 100}), "ChangeMessageVisibility")
    cmvb = ok(signed_query("ChangeMessageVisibilityBatch", {
        "QueueUrl": url,
        "ChangeMessageVisibilityBatchRequestEntry.1.Id": "c1",
        "ChangeMessageVisibilityBatchRequestEntry.1.ReceiptHandle": h["b2"],
        "ChangeMessageVisibilityBatchRequestEntry.1.VisibilityTimeout": "200",
        "ChangeMessageVisibilityBatchRequestEntry.2.Id": "c2",
        "ChangeMessageVisibilityBatchRequestEntry.2.ReceiptHandle": "garbage",
        "ChangeMessageVisibilityBatchRequestEntry.2.VisibilityTimeout": "0",
    }), "ChangeMessageVisibilityBatch")
    assert [xtext(e, "Id") for e in cmvb.findall(X("ChangeMessageVisibilityBatchResultEntry"))] == ["c1"]
    assert [xtext(e, "Code") for e in cmvb.findall(X("BatchResultErrorEntry"))] == ["ReceiptHandleIsInvalid"]

    ok(signed_query("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": h["query body"]}), "DeleteMessage")
    dmb = ok(signed_query("DeleteMessageBatch", {
        "QueueUrl": url,
        "DeleteMessageBatchRequestEntry.1.Id": "d1", "DeleteMessageBatchRequestEntry.1.ReceiptHandle": h["b1"],
        "DeleteMessageBatchRequestEntry.2.Id": "d2", "DeleteMessageBatchRequestEntry.2.ReceiptHandle": h["b2"],
    }), "DeleteMessageBatch")
    assert sorted(xtext(e, "Id") for e in dmb.findall(X("DeleteMessageBatchResultEntry"))) == ["d1", "d2"]
    assert dmb.findall(X("BatchResultErrorEntry")) == []
    assert fs.queue_attrs(sqs, url, "ApproximateNumberOfMessagesNotVisible")[
        "ApproximateNumberOfMessagesNotVisible"] == "0"

    err(signed_query("SendMessageBatch", {
        "QueueUrl": url,
        "SendMessageBatchRequestEntry.1.Id": "x", "SendMessageBatchRequestEntry.1.MessageBody": "1",
        "SendMessageBatchRequestEntry.2.Id": "x", "SendMessageBatchRequestEntry.2.MessageBody": "2",
    }), 400, "AWS.SimpleQueueService.BatchEntryIdsNotDistinct")
    err(signed_query("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": "garbage"}),
        404, "ReceiptHandleIsInvalid")
    ok(signed_query("PurgeQueue", {"QueueUrl": url}), "PurgeQueue")
    err(signed_query("PurgeQueue", {"QueueUrl": url}), 403, "AWS.SimpleQueueService.PurgeQueueInProgress")


def test_query_dead_letters_and_move_tasks(signed_query, queue, queue_arn, sqs):
    dlq = queue("q-dlq")
    dlq_arn = queue_arn(dlq)
    src = queue("q-src", attributes={
        "RedrivePolicy": '{"deadLetterTargetArn":"%s","maxReceiveCount":"3"}' % dlq_arn})
    dest = queue("q-dest")
    res = ok(signed_query("ListDeadLetterSourceQueues", {"QueueUrl": dlq}), "ListDeadLetterSourceQueues")
    assert [e.text for e in res.findall(X("QueueUrl"))] == [src]

    sqs.send_message_batch(QueueUrl=dlq, Entries=[{"Id": str(i), "MessageBody": f"d{i}"} for i in range(10)])
    start = ok(signed_query("StartMessageMoveTask", {
        "SourceArn": dlq_arn, "DestinationArn": queue_arn(dest), "MaxNumberOfMessagesPerSecond": 1}),
        "StartMessageMoveTask")
    handle = xtext(start, "TaskHandle")
    assert handle
    tasks = ok(signed_query("ListMessageMoveTasks", {"SourceArn": dlq_arn, "MaxResults": 10}),
               "ListMessageMoveTasks").findall(X("ListMessageMoveTasksResultEntry"))
    assert len(tasks) == 1
    assert xtext(tasks[0], "TaskHandle") == handle and xtext(tasks[0], "Status") == "RUNNING"
    assert xtext(tasks[0], "SourceArn") == dlq_arn
    cancel = ok(signed_query("CancelMessageMoveTask", {"TaskHandle": handle}), "CancelMessageMoveTask")
    assert 0 <= int(xtext(cancel, "ApproximateNumberOfMessagesMoved")) < 10

    def final_status():
        r = ok(signed_query("ListMessageMoveTasks", {"SourceArn": dlq_arn}), "ListMessageMoveTasks")
        return xtext(r, "ListMessageMoveTasksResultEntry/Status") == "CANCELLED"

    wait_until(final_status, desc="CANCELLED task")
    err(signed_query("CancelMessageMoveTask", {"TaskHandle": "no-such-task"}), 404, "ResourceNotFoundException")


def test_query_queue_url_path(signed_query, queue, sqs):
    url = queue("q-path")
    path = fs.queue_path(url)
    assert path == f"/{fs.ACCOUNT_ID}/{fs.queue_name(url)}"
    send = ok(signed_query("SendMessage", {"MessageBody": "via path"}, path=path), "SendMessage")
    assert xtext(send, "MD5OfMessageBody") == md5_hex("via path")
    got = ok(signed_query("ReceiveMessage", {"WaitTimeSeconds": 1, "VisibilityTimeout": 0},
                          path=path, method="GET"), "ReceiveMessage")
    assert [xtext(m, "Body") for m in got.findall(X("Message"))] == ["via path"]
    attrs = attr_map(ok(signed_query("GetQueueAttributes", {"AttributeName.1": "All"},
                                     path=path, method="GET"), "GetQueueAttributes"))
    assert attrs["QueueArn"] == fs.expected_arn(fs.queue_name(url))
    ok(signed_query("SetQueueAttributes", {"Attribute.1.Name": "DelaySeconds", "Attribute.1.Value": "0"},
                    path=path), "SetQueueAttributes")
    listed = ok(signed_query("ListQueues", {"QueueNamePrefix": fs.queue_name(url)}, method="GET"), "ListQueues")
    assert [e.text for e in listed.findall(X("QueueUrl"))] == [url]
    ok(signed_query("PurgeQueue", {}, path=path), "PurgeQueue")
    gone = f"/{fs.ACCOUNT_ID}/{fs.unique_name('q-nopath')}"
    err(signed_query("SendMessage", {"MessageBody": "x"}, path=gone), 400,
        "AWS.SimpleQueueService.NonExistentQueue")


def test_query_errors(signed_query, queue):
    err(signed_query("GetQueueUrl", {"QueueName": fs.unique_name("q-none")}),
        400, "AWS.SimpleQueueService.NonExistentQueue")
    err(signed_query("FrobnicateQueue", {}), 400, "InvalidAction")
    url = queue("q-err")
    err(signed_query("SendMessage", {"QueueUrl": url}), 400, "MissingParameter")
    err(signed_query("SendMessage", {"QueueUrl": url, "MessageBody": "x", "DelaySeconds": "abc"}),
        400, "InvalidParameterValue")
    err(signed_query("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": "11"}),
        400, "InvalidParameterValue")
    err(signed_query("SendMessage", {"QueueUrl": url, "MessageBody": "bad \x01"}), 400, "InvalidMessageContents")


def test_query_missing_action(signed_http):
    r = signed_http("POST", "/", body="Version=2012-11-05", headers={"Content-Type": fs.FORM_CT})
    assert r.status_code == 400
    _, code, _ = xml_error(fs.parse_xml(r.content))
    assert code in ("MissingAction", "InvalidAction")


def test_query_body_round_trip(signed_query, queue, sqs):
    url = queue("q-xml")
    body = "line1\r\nline2\rline3\n & <tag attr=\"x\"> ]]> 'quote' \t😀𝄞 é\U0010FFFD end"
    sent = ok(signed_query("SendMessage", {
        "QueueUrl": url, "MessageBody": body,
        "MessageAttribute.1.Name": "raw", "MessageAttribute.1.Value.DataType": "String",
        "MessageAttribute.1.Value.StringValue": "a\r\nb & <c>"}), "SendMessage")
    assert xtext(sent, "MD5OfMessageBody") == md5_hex(body)
    res = ok(signed_query("ReceiveMessage", {
        "QueueUrl": url, "WaitTimeSeconds": 1, "VisibilityTimeout": 0, "MessageAttributeName.1": "All"}),
        "ReceiveMessage")
    msgs = res.findall(X("Message"))
    assert len(msgs) == 1
    assert xtext(msgs[0], "Body") == body  # \r must survive XML (escaped as &#xD; / &#13;)
    assert xtext(msgs[0], "MD5OfBody") == md5_hex(body)
    assert xtext(msgs[0], "MessageAttribute/Value/StringValue") == "a\r\nb & <c>"
    # the same message read through JSON (boto3) is identical
    m = fs.receive_all(sqs, url, 1, MessageAttributeNames=["All"])[0]
    assert m["Body"] == body
    assert m["MessageAttributes"]["raw"]["StringValue"] == "a\r\nb & <c>"


def test_query_form_plus_and_percent_encoding(signed_http, queue, sqs):
    url = queue("q-plus")
    # standard x-www-form-urlencoded: '+' is a space, %2B is a literal plus
    body = "Action=SendMessage&Version=2012-11-05&QueueUrl=" + fs.percent_encode(url) + \
        "&MessageBody=a+b%2Bc%20d%26e%3D"
    r = signed_http("POST", "/", body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 200, r.content
    root = fs.parse_xml(r.content)
    assert xtext(root, "SendMessageResult/MD5OfMessageBody") == md5_hex("a b+c d&e=")
    assert [m["Body"] for m in fs.receive_all(sqs, url, 1)] == ["a b+c d&e="]


def test_query_error_carries_the_namespace_and_aws_wording(signed_query):
    """As recorded on AWS: <ErrorResponse xmlns="http://queue.amazonaws.com/doc/2012-11-05/">, and
    NonExistentQueue worded with the API version."""
    r = signed_query("GetQueueUrl", {"QueueName": fs.unique_name("q-none")})
    err(r, 400, "AWS.SimpleQueueService.NonExistentQueue")
    assert r.parsed.tag == "{http://queue.amazonaws.com/doc/2012-11-05/}ErrorResponse", r.raw
    assert xml_error(r.parsed)[2] == "The specified queue does not exist for this wsdl version."


def test_query_endpoint_answers_as_aws(signed_http, signed_query, queue):
    url = queue("q-endpoint")
    path = fs.queue_path(url)
    # a queue URL with no Action: 404 UnknownOperationException
    r = signed_http("POST", path, body="Version=2012-11-05", headers={"Content-Type": fs.FORM_CT})
    assert r.status_code == 404, r.content
    assert xml_error(fs.parse_xml(r.content))[1] == "UnknownOperationException"
    # service actions sent to a queue URL: 400 InvalidAction
    for action, params in (("CreateQueue", {"QueueName": fs.unique_name("q-x")}), ("ListQueues", {})):
        r = signed_query(action, params, path=path)
        err(r, 400, "InvalidAction")
        assert xml_error(r.parsed)[2] == f"The action {action} is not valid for this endpoint."


def test_query_request_accepting_json_is_answered_in_json(signed_query, queue):
    url = queue("q-accept-json")
    r = signed_query("SendMessage", {"QueueUrl": url, "MessageBody": "json please"},
                     headers={"Accept": "application/json"})
    assert r.status == 200, r.raw
    assert r.headers.get("Content-Type", "").startswith("application/x-amz-json-1.0"), r.headers
    body = fs.parse_json(r.raw)
    assert body["MD5OfMessageBody"] == md5_hex("json please")
    r = signed_query("GetQueueUrl", {"QueueName": fs.unique_name("q-none")}, headers={"Accept": "application/json"})
    assert r.status == 400
    error = fs.parse_json(r.raw)
    assert error["__type"].endswith("QueueDoesNotExist"), error
    assert r.headers.get("x-amzn-query-error") == "AWS.SimpleQueueService.NonExistentQueue;Sender"
