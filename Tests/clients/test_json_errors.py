"""Raw AWS JSON 1.0 requests: success and error shapes, headers, protocol edge cases."""

import json

import pytest

import ferry_support as fs


def _assert_json_error(resp, status, shape=None, query_code=None, fault="Sender"):
    assert resp.status == status, (resp.status, resp.raw[:1000])
    assert resp.headers.get("x-amzn-RequestId"), "x-amzn-RequestId missing on error"
    assert resp.headers.get("Content-Type", "").startswith(fs.JSON_CT), resp.headers.get("Content-Type")
    body = resp.parsed
    assert isinstance(body, dict), resp.raw[:1000]
    assert body.get("__type"), body
    assert body.get("message") or body.get("Message"), body
    if shape is not None:
        assert body["__type"] == f"com.amazonaws.sqs#{shape}", body
    if query_code is not None:
        assert resp.headers.get("x-amzn-query-error") == f"{query_code};{fault}", dict(resp.headers)
    return body


def test_success_shape_and_request_id(signed_json, queue):
    url = queue("json-ok")
    r = signed_json("SendMessage", {"QueueUrl": url, "MessageBody": "json"})
    assert r.status == 200, r.raw
    assert r.headers.get("x-amzn-RequestId")
    assert r.headers.get("Content-Type", "").startswith(fs.JSON_CT)
    assert r.parsed["MD5OfMessageBody"] == fs.md5_hex("json")
    assert set(r.parsed) <= {"MessageId", "MD5OfMessageBody", "MD5OfMessageAttributes",
                             "MD5OfMessageSystemAttributes", "SequenceNumber"}
    r2 = signed_json("SendMessage", {"QueueUrl": url, "MessageBody": "json"})
    assert r2.headers["x-amzn-RequestId"] != r.headers["x-amzn-RequestId"]
    # output with no members: an empty JSON object
    r = signed_json("SetQueueAttributes", {"QueueUrl": url, "Attributes": {"DelaySeconds": "0"}})
    assert r.status == 200 and r.parsed == {} and r.headers.get("x-amzn-RequestId")
    # numbers are JSON numbers, attribute values JSON strings
    r = signed_json("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1,
                                       "MessageSystemAttributeNames": ["ApproximateReceiveCount"]})
    assert r.status == 200
    assert r.parsed["Messages"][0]["Attributes"]["ApproximateReceiveCount"] == "1"


def test_nonexistent_queue_error_shape(signed_json, endpoint):
    r = signed_json("GetQueueUrl", {"QueueName": fs.unique_name("json-none")})
    _assert_json_error(r, 400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")
    r = signed_json("SendMessage", {"QueueUrl": f"{endpoint}/{fs.ACCOUNT_ID}/{fs.unique_name('x')}",
                                    "MessageBody": "x"})
    _assert_json_error(r, 400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")


def test_modeled_error_shapes(signed_json, queue):
    url = queue("json-err")
    r = signed_json("DeleteMessage", {"QueueUrl": url, "ReceiptHandle": "garbage"})
    _assert_json_error(r, 404, "ReceiptHandleIsInvalid", "ReceiptHandleIsInvalid")
    assert signed_json("PurgeQueue", {"QueueUrl": url}).status == 200
    r = signed_json("PurgeQueue", {"QueueUrl": url})
    _assert_json_error(r, 403, "PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress")
    r = signed_json("SendMessageBatch", {"QueueUrl": url, "Entries": []})
    _assert_json_error(r, 400, "EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest")
    r = signed_json("CreateQueue", {"QueueName": fs.queue_name(url), "Attributes": {"DelaySeconds": "7"}})
    _assert_json_error(r, 400, "QueueNameExists", "QueueAlreadyExists")
    r = signed_json("SendMessage", {"QueueUrl": url, "MessageBody": "\u0000"})
    _assert_json_error(r, 400, "InvalidMessageContents", "InvalidMessageContents")
    r = signed_json("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["Bogus"]})
    _assert_json_error(r, 400, "InvalidAttributeName", "InvalidAttributeName")
    r = signed_json("CancelMessageMoveTask", {"TaskHandle": "nope"})
    _assert_json_error(r, 404, "ResourceNotFoundException", "ResourceNotFoundException")


def test_unmodeled_error_codes(signed_json, queue):
    url = queue("json-unmodeled")
    r = signed_json("SendMessage", {"QueueUrl": url})
    _assert_json_error(r, 400, "MissingRequiredParameterException", "MissingParameter")
    assert fs.json_error_code(r) == "MissingParameter"
    r = signed_json("ReceiveMessage", {"QueueUrl": url, "MaxNumberOfMessages": 11})
    _assert_json_error(r, 400, "InvalidParameterValueException", "InvalidParameterValue")
    assert fs.json_error_code(r) == "InvalidParameterValue"


def test_boto3_shows_the_query_code_and_the_exception_name(sqs_unvalidated, queue):
    url = queue("json-exception-names")
    with fs.client_error("MissingParameter", 400, "MissingRequiredParameterException"):
        sqs_unvalidated.send_message(QueueUrl=url, MessageBody="")
    with fs.client_error("InvalidParameterValue", 400, "InvalidParameterValueException"):
        sqs_unvalidated.send_message(QueueUrl=url, MessageBody="x", DelaySeconds=901)


def test_unknown_target_action(signed_json):
    r = signed_json("Frobnicate", {})
    body = _assert_json_error(r, 400)
    code = fs.json_error_code(r)
    assert "UnknownOperation" in body["__type"] or code in ("InvalidAction", "UnknownOperationException"), body


@pytest.mark.parametrize("target", ["", "AmazonSQS", "AmazonSNS.ListQueues", "AmazonSQS.", False])
def test_bad_targets(signed_json, target):
    r = signed_json("ListQueues", {}, target=target)
    assert 400 <= r.status < 500, (r.status, r.raw[:500])
    assert r.headers.get("x-amzn-RequestId")


@pytest.mark.parametrize(
    "raw",
    [b"{", b"{\"QueueNamePrefix\": }", b"not json", b"[]", b"\"str\"", b"\xff\xfe{}", b"{\"a\":1}}"],
    ids=["open", "novalue", "text", "array", "string", "badutf8", "trailing"],
)
def test_malformed_json(signed_json, raw):
    r = signed_json("ListQueues", raw_body=raw)
    assert r.status == 400, (r.status, r.raw[:500])
    assert r.headers.get("x-amzn-RequestId")
    assert isinstance(r.parsed, dict) and r.parsed.get("__type"), r.raw[:500]


def test_empty_body_is_empty_input(signed_json):
    # an empty body for an operation without required members is an empty input object
    r = signed_json("ListQueues", raw_body=b"")
    assert r.status in (200, 400), r.raw[:500]
    assert r.headers.get("x-amzn-RequestId")


def test_wrong_member_types(signed_json, queue):
    url = queue("json-types")
    for payload in (
        {"QueueUrl": url, "MaxNumberOfMessages": "x"},
        {"QueueUrl": url, "MaxNumberOfMessages": []},
        {"QueueUrl": url, "MaxNumberOfMessages": 1.5},
        {"QueueUrl": 12},
        {"QueueUrl": url, "MessageAttributeNames": "All"},
    ):
        r = signed_json("ReceiveMessage", payload)
        assert r.status == 400, (payload, r.status, r.raw[:300])
        assert r.parsed.get("__type"), r.raw[:300]


def test_query_mode_header_and_charset(signed_json, queue):
    url = queue("json-mode")
    r = signed_json("GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["QueueArn"]},
                    headers={"x-amzn-query-mode": "true"})
    assert r.status == 200 and r.parsed["Attributes"]["QueueArn"].endswith(fs.queue_name(url))
    r = signed_json("ListQueues", {"QueueNamePrefix": fs.queue_name(url)},
                    headers={"Content-Type": "application/x-amz-json-1.0; charset=utf-8"})
    assert r.status == 200 and r.parsed["QueueUrls"] == [url]
    r = signed_json("GetQueueUrl", {"QueueName": fs.unique_name("mode")}, headers={"x-amzn-query-mode": "true"})
    _assert_json_error(r, 400, "QueueDoesNotExist", "AWS.SimpleQueueService.NonExistentQueue")


def test_unicode_json_round_trip(signed_json, queue):
    url = queue("json-uni")
    body = "json \r\n \"quoted\" \\ back 😀 \u2028 end"
    raw = json.dumps({"QueueUrl": url, "MessageBody": body}, ensure_ascii=True)
    r = signed_json("SendMessage", raw_body=raw)
    assert r.status == 200 and r.parsed["MD5OfMessageBody"] == fs.md5_hex(body)
    r = signed_json("ReceiveMessage", {"QueueUrl": url, "WaitTimeSeconds": 1})
    assert r.parsed["Messages"][0]["Body"] == body
    # an escaped lone surrogate is not a valid message character
    r = signed_json("SendMessage", raw_body='{"QueueUrl": "%s", "MessageBody": "a\\ud800b"}' % url)
    assert r.status == 400, r.raw[:300]


def test_batch_result_leaves_out_an_empty_list(signed_json, queue):
    """As recorded on AWS: a batch where every entry succeeded has no `Failed`, and one where every
    entry failed has no `Successful`."""
    url = queue("json-batch-lists")
    r = signed_json("SendMessageBatch", {"QueueUrl": url, "Entries": [
        {"Id": "a", "MessageBody": "one"}, {"Id": "b", "MessageBody": "two"}]})
    assert r.status == 200, r.raw
    assert "Failed" not in r.parsed, r.parsed
    assert sorted(e["Id"] for e in r.parsed["Successful"]) == ["a", "b"]
    r = signed_json("DeleteMessageBatch", {"QueueUrl": url, "Entries": [
        {"Id": "x", "ReceiptHandle": "not-a-handle"}]})
    assert r.status == 200, r.raw
    assert "Successful" not in r.parsed, r.parsed
    assert [e["Id"] for e in r.parsed["Failed"]] == ["x"]
