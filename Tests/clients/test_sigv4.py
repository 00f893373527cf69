"""SigV4 verification: header signing, clock skew, malformed/missing auth, presigned URLs."""

import datetime
import json
import re

import pytest
from botocore import UNSIGNED

import ferry_support as fs
from ferry_support import client_error, xml_error

SKEW = datetime.timedelta(minutes=20)


def _json_code(resp):
    assert resp.headers.get("x-amzn-RequestId"), "x-amzn-RequestId missing"
    return fs.json_error_code(resp)


def test_correctly_signed_requests(signed_json, signed_query, sqs):
    r = signed_json("ListQueues", {})
    assert r.status == 200, r.raw
    r = signed_query("ListQueues", {})
    assert r.status == 200 and fs.local(r.parsed.tag) == "ListQueuesResponse", r.raw
    assert isinstance(sqs.list_queues(), dict)


def test_small_clock_skew_is_accepted(signed_json):
    for minutes in (-10, 10):
        r = signed_json("ListQueues", {}, time_offset=datetime.timedelta(minutes=minutes))
        assert r.status == 200, (minutes, r.raw)


def test_wrong_secret(endpoint, signed_json, signed_query):
    bad = fs.make_sqs_client(endpoint, secret="not-the-secret")
    with client_error("SignatureDoesNotMatch", 403):
        bad.list_queues()
    r = signed_json("ListQueues", {}, secret="not-the-secret")
    assert r.status == 403 and _json_code(r) == "SignatureDoesNotMatch", r.raw
    r = signed_query("ListQueues", {}, secret="not-the-secret")
    assert r.status == 403 and xml_error(r.parsed)[:2] == ("Sender", "SignatureDoesNotMatch"), r.raw


def test_unknown_access_key(endpoint, signed_json, signed_query):
    bad = fs.make_sqs_client(endpoint, key="AKIDUNKNOWN", secret=fs.SECRET_KEY)
    with client_error("InvalidClientTokenId", 403):
        bad.list_queues()
    r = signed_json("ListQueues", {}, key="AKIDUNKNOWN")
    assert r.status == 403 and _json_code(r) == "InvalidClientTokenId", r.raw
    r = signed_query("ListQueues", {}, key="AKIDUNKNOWN")
    assert r.status == 403 and xml_error(r.parsed)[1] == "InvalidClientTokenId", r.raw


@pytest.mark.parametrize("direction", [-1, 1], ids=["past", "future"])
def test_request_expired(signed_json, signed_query, direction):
    r = signed_json("ListQueues", {}, time_offset=SKEW * direction)
    assert r.status == 400 and _json_code(r) == "RequestExpired", r.raw
    r = signed_query("ListQueues", {}, time_offset=SKEW * direction)
    assert r.status == 400 and xml_error(r.parsed)[1] == "RequestExpired", r.raw


def test_missing_authentication(endpoint, signed_json, signed_query):
    anon = fs.make_sqs_client(endpoint, signature_version=UNSIGNED)
    with client_error("MissingAuthenticationToken", 403):
        anon.list_queues()
    r = signed_json("ListQueues", {}, sign=False)
    assert r.status == 403 and _json_code(r) == "MissingAuthenticationToken", r.raw
    r = signed_query("ListQueues", {}, sign=False)
    assert r.status == 403 and xml_error(r.parsed)[1] == "MissingAuthenticationToken", r.raw
    r = signed_query("ListQueues", {}, method="GET", sign=False)
    assert r.status == 403 and xml_error(r.parsed)[1] == "MissingAuthenticationToken", r.raw


def _set_auth(value_fn):
    def mutate(headers):
        headers["Authorization"] = value_fn(headers["Authorization"])

    return mutate


MALFORMED = {
    "no-signature": lambda a: re.sub(r",\s*Signature=[0-9a-f]+", "", a),
    "no-signedheaders": lambda a: re.sub(r",\s*SignedHeaders=[^,]+", "", a),
    "no-credential": lambda a: re.sub(r"Credential=[^,]+,\s*", "", a),
    "garbage": lambda a: "AWS4-HMAC-SHA256 garbage",
    "short-scope": lambda a: re.sub(r"Credential=[^,]+", f"Credential={fs.ACCESS_KEY}/20200101", a),
    "empty": lambda a: "AWS4-HMAC-SHA256",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_authorization(signed_json, signed_query, kind):
    r = signed_json("ListQueues", {}, mutate=_set_auth(MALFORMED[kind]))
    assert r.status == 400 and _json_code(r) == "IncompleteSignature", (kind, r.status, r.raw)
    r = signed_query("ListQueues", {}, mutate=_set_auth(MALFORMED[kind]))
    assert r.status == 400 and xml_error(r.parsed)[1] == "IncompleteSignature", (kind, r.raw)


def test_tampering_breaks_signature(signed_json, signed_http, queue):
    url = queue("tamper")
    body = json.dumps({"QueueUrl": url, "MessageBody": "original"})
    headers = {"Content-Type": fs.JSON_CT, "X-Amz-Target": "AmazonSQS.SendMessage"}
    r = signed_http("POST", "/", body=body, headers=headers,
                    send_body=body.replace("original", "tampered").encode())
    resp = fs.Resp(r.status_code, r.headers, fs.parse_json(r.content), r.content)
    assert r.status_code == 403 and _json_code(resp) == "SignatureDoesNotMatch", r.content

    def retarget(h):
        h["X-Amz-Target"] = "AmazonSQS.PurgeQueue"

    r = signed_http("POST", "/", body=body, headers=headers, mutate=retarget)
    assert r.status_code == 403, r.content
    # the signature is over the exact Host too
    r = signed_http("POST", "/", body=body, headers=headers, mutate=lambda h: h.update(Host="localhost:1"))
    assert r.status_code == 403, r.content


def test_wrong_scope(signed_json):
    r = signed_json("ListQueues", {}, service="s3")
    assert r.status in (400, 403) and _json_code(r) in ("SignatureDoesNotMatch", "IncompleteSignature"), r.raw

    def wrong_date(h):
        h["Authorization"] = re.sub(r"/(\d{8})/", "/20010101/", h["Authorization"], count=1)

    r = signed_json("ListQueues", {}, mutate=wrong_date)
    assert r.status in (400, 403) and _json_code(r) in ("SignatureDoesNotMatch", "IncompleteSignature"), r.raw


def test_presigned_get_query_url(signed_http, queue):
    url = queue("presign")
    params = {"Action": "GetQueueAttributes", "Version": "2012-11-05",
              "QueueUrl": url, "AttributeName.1": "QueueArn"}
    r = signed_http("GET", "/", params=params, presign_expires=300)
    assert r.status_code == 200, r.content
    root = fs.parse_xml(r.content)
    assert fs.local(root.tag) == "GetQueueAttributesResponse"
    assert fs.xtext(root, "GetQueueAttributesResult/Attribute/Value") == fs.expected_arn(fs.queue_name(url))
    assert "Authorization" not in r.request.headers and "X-Amz-Signature=" in r.request.url

    r = signed_http("GET", fs.queue_path(url), params={"Action": "SendMessage", "MessageBody": "presigned"},
                    presign_expires=300)
    assert r.status_code == 200, r.content

    bad = signed_http("GET", "/", params=params, presign_expires=300, secret="wrong-secret")
    assert bad.status_code == 403
    assert xml_error(fs.parse_xml(bad.content))[1] == "SignatureDoesNotMatch"

    expired = signed_http("GET", "/", params=params, presign_expires=60,
                          time_offset=datetime.timedelta(minutes=-10))
    assert expired.status_code in (400, 403), expired.content
    assert xml_error(fs.parse_xml(expired.content))[1] in ("RequestExpired", "AccessDenied")
