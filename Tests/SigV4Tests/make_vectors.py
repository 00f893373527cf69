#!/usr/bin/env python3
"""Generates SigV4BotocoreVectors.swift: requests signed by botocore, the real client, as test fixtures.

Run from this folder:  python3 make_vectors.py > SigV4BotocoreVectors.swift
Needs botocore (any 1.3x+). The Swift tests read only the generated file, never Python.

Each vector records the request exactly as it goes on the wire (method, path and query as sent,
headers as sent including Host, body bytes), plus botocore's own canonical request and string to
sign, so the Swift tests can compare the verifier's canonicalization line by line.
"""

import datetime
import hashlib
import uuid
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import botocore.session
from botocore.auth import S3SigV4QueryAuth, SigV4Auth, SigV4QueryAuth, _host_from_url
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY_ID = "AKIAFERRYTESTKEY0001"
SECRET = "ferry/Secret+Key/0123456789abcdefghijABCDEFGHIJ"
TIMESTAMP = datetime.datetime(2025, 6, 15, 10, 20, 30)
ENDPOINT = "http://localhost:9324"

recorded = {}
_original_string_to_sign = SigV4Auth.string_to_sign


def _recording_string_to_sign(self, request, canonical_request):
    result = _original_string_to_sign(self, request, canonical_request)
    recorded["canonical_request"] = canonical_request
    recorded["string_to_sign"] = result
    return result


SigV4Auth.string_to_sign = _recording_string_to_sign


def epoch_seconds(moment):
    return int((moment - datetime.datetime(1970, 1, 1)).total_seconds())


def vector(name, method, url, headers, body, credentials, region, service, moment):
    parts = urlsplit(url)
    has_host = any(key.lower() == "host" for key, _ in headers)
    wire_headers = list(headers) if has_host else [("Host", _host_from_url(url))] + list(headers)
    sts = recorded["string_to_sign"]
    return {
        "name": name,
        "method": method,
        "rawPath": parts.path,
        "rawQuery": parts.query,
        "headers": [(str(k), v.decode() if isinstance(v, bytes) else str(v)) for k, v in wire_headers],
        "body": body or b"",
        "accessKeyId": credentials.access_key,
        "secret": credentials.secret_key,
        "region": region,
        "service": service,
        "nowSeconds": epoch_seconds(moment),
        "canonicalRequest": recorded["canonical_request"],
        "stringToSign": sts,
    }


def sign(name, method, url, *, data=None, params=None, headers=(), presign_expires=None, presigner=SigV4QueryAuth,
         region="us-east-1", service="sqs", credentials=None, moment=TIMESTAMP, wire_duplicates=False):
    credentials = credentials or Credentials(ACCESS_KEY_ID, SECRET)
    request = AWSRequest(method=method, url=url, data=data, params=params)
    for key, value in headers:
        request.headers[key] = value  # HTTPHeaders appends, so a name may repeat
    with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
        if presign_expires is None:
            SigV4Auth(credentials, service, region).add_auth(request)
        else:
            presigner(credentials, service, region, expires=presign_expires).add_auth(request)
    prepared = request.prepare()
    if wire_duplicates:
        wire = list(request.headers.items())
        if "Content-Length" in prepared.headers:
            wire.append(("Content-Length", prepared.headers["Content-Length"]))
    else:
        wire = list(prepared.headers.items())
    body = prepared.body
    if isinstance(body, str):
        body = body.encode("utf-8")
    return vector(name, method, prepared.url, wire, body, credentials, region, service, moment)


class Captured(Exception):
    pass


def real_client_send_message():
    """The whole botocore client path: serializer, handlers, signer, as `boto3.client('sqs')` sends it."""
    session = botocore.session.get_session()
    session.set_credentials(ACCESS_KEY_ID, SECRET)
    client = session.create_client("sqs", region_name="eu-west-1", endpoint_url=ENDPOINT)
    captured = {}

    def before_send(request, **kwargs):
        captured["request"] = request
        raise Captured()

    client.meta.events.register("before-send.sqs.*", before_send)
    fixed_uuid = uuid.UUID("00000000-0000-4000-8000-000000000001")  # amz-sdk-invocation-id, unsigned
    with mock.patch("botocore.auth.get_current_datetime", return_value=TIMESTAMP), \
            mock.patch("uuid.uuid4", return_value=fixed_uuid):
        try:
            client.send_message(
                QueueUrl=ENDPOINT + "/000000000000/q1",
                MessageBody="héllo wörld * ~ 😀",
                MessageAttributes={"Kind": {"DataType": "String", "StringValue": "a b"}},
            )
        except Captured:
            pass
    prepared = captured["request"]
    headers = list(prepared.headers.items())
    credentials = Credentials(ACCESS_KEY_ID, SECRET)
    return vector("json-send-message-real-client", prepared.method, prepared.url, headers, prepared.body,
                  credentials, "eu-west-1", "sqs", TIMESTAMP)


def aws_test_suite_get_vanilla():
    credentials = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    moment = datetime.datetime(2015, 8, 30, 12, 36, 0)
    result = sign("aws-test-suite-get-vanilla", "GET", "https://example.amazonaws.com/",
                  service="service", credentials=credentials, moment=moment)
    authorization = dict(result["headers"])["Authorization"]
    # The published signature of the AWS SigV4 test suite's get-vanilla case.
    assert authorization.endswith("Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"), \
        authorization
    return result


FORM = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
JSON = [("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", "AmazonSQS.SendMessage")]
JSON_BODY = b'{"QueueUrl": "http://localhost:9324/000000000000/q1", "MessageBody": "hi there"}'
QUERY_DATA = {
    "Action": "SendMessage",
    "Version": "2012-11-05",
    "QueueUrl": ENDPOINT + "/000000000000/q1",
    "MessageBody": "a b&c=d+e*f~g/é😀",
}


def all_vectors():
    return [
        real_client_send_message(),
        sign("json-send-message", "POST", ENDPOINT + "/", data=JSON_BODY, headers=JSON),
        sign("json-with-content-sha256-header", "POST", ENDPOINT + "/", data=JSON_BODY,
             headers=JSON + [("X-Amz-Content-SHA256", hashlib.sha256(JSON_BODY).hexdigest())]),
        sign("json-session-token", "POST", ENDPOINT + "/", data=JSON_BODY, headers=JSON,
             credentials=Credentials(ACCESS_KEY_ID, SECRET, "session-token/with+chars=")),
        sign("query-post-root", "POST", ENDPOINT + "/", data=dict(QUERY_DATA), headers=FORM),
        sign("query-post-queue-path", "POST", ENDPOINT + "/000000000000/q1",
             data={k: v for k, v in QUERY_DATA.items() if k != "QueueUrl"}, headers=FORM),
        sign("query-post-date-header", "POST", ENDPOINT + "/", data=dict(QUERY_DATA),
             headers=FORM + [("Date", "replaced by botocore")]),
        sign("get-params-encoded-by-client", "GET", ENDPOINT + "/000000000000/q1", params=[
            ("Action", "ReceiveMessage"), ("AttributeName.1", "All"), ("k", "b v"), ("k", "a v"),
            ("k", "a*v"), ("star", "*x*"), ("tilde", "~y~"), ("uni", "ümlaut ✓ 😀"), ("empty", ""),
            ("plus", "1+1=2"), ("slash", "a/b"), ("Zeta", "upper sorts first"),
        ]),
        sign("get-query-already-canonical", "GET",
             ENDPOINT + "/?b=2&a=1&a=0&sp=x%20y&st=%2A&t=~&u=%C3%BC%E2%9C%93&flag=&z"),
        sign("path-needing-encoding", "GET",
             ENDPOINT + "/000000000000/my%2Dqueue%20x/a@b:c!$&'()*+,;=/%E2%9C%93?Action=GetQueueUrl"),
        sign("path-dot-segments", "POST", ENDPOINT + "/a/./b/../c//000000000000/q1/", data=dict(QUERY_DATA),
             headers=FORM),
        sign("repeated-and-spaced-headers", "POST", ENDPOINT + "/", data=JSON_BODY, wire_duplicates=True,
             headers=JSON + [("X-Ferry-Note", "  a   b\t c  "), ("X-Ferry-Note", "second"),
                             ("X-Ferry-Empty", "")]),
        sign("non-default-region", "POST", "https://sqs.ap-southeast-2.example.test/", data=JSON_BODY,
             headers=JSON, region="ap-southeast-2"),
        sign("presigned-get", "GET", ENDPOINT + "/000000000000/q1", presign_expires=300,
             params={"Action": "ReceiveMessage", "Note": "a b*c~", "Version": "2012-11-05"}),
        sign("presigned-post-form", "POST", ENDPOINT + "/", presign_expires=3600,
             data={"Action": "ListQueues", "Version": "2012-11-05"}, headers=FORM),
        # S3-style presigners sign UNSIGNED-PAYLOAD instead of the empty body's hash.
        sign("presigned-get-unsigned-payload", "GET", ENDPOINT + "/000000000000/q1", presign_expires=60,
             presigner=S3SigV4QueryAuth, params={"Action": "GetQueueAttributes", "AttributeName.1": "All"}),
        aws_test_suite_get_vanilla(),
    ]


def swift_string(text):
    out = []
    for char in text:
        code = ord(char)
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif 0x20 <= code < 0x7F:
            out.append(char)
        else:
            out.append("\\u{%x}" % code)
    return '"' + "".join(out) + '"'


def swift_vector(v):
    lines = ["        SigV4Fixture("]
    lines.append(f"            name: {swift_string(v['name'])},")
    lines.append(f"            method: {swift_string(v['method'])},")
    lines.append(f"            rawPath: {swift_string(v['rawPath'])},")
    lines.append(f"            rawQuery: {swift_string(v['rawQuery'])},")
    lines.append("            headers: [")
    for key, value in v["headers"]:
        lines.append(f"                ({swift_string(key)}, {swift_string(value)}),")
    lines.append("            ],")
    body_hex = v["body"].hex()
    lines.append("            bodyHex: \"\"")
    for start in range(0, len(body_hex), 96):
        lines.append(f"                + \"{body_hex[start:start + 96]}\"")
    lines[-1] += ","
    lines.append(f"            accessKeyId: {swift_string(v['accessKeyId'])},")
    lines.append(f"            secret: {swift_string(v['secret'])},")
    lines.append(f"            region: {swift_string(v['region'])},")
    lines.append(f"            service: {swift_string(v['service'])},")
    lines.append(f"            nowSeconds: {v['nowSeconds']},")
    lines.append(f"            canonicalRequest: {swift_string(v['canonicalRequest'])},")
    lines.append(f"            stringToSign: {swift_string(v['stringToSign'])}")
    lines.append("        ),")
    return "\n".join(lines)


def main():
    import botocore
    vectors = all_vectors()
    print(f"// Generated by make_vectors.py with botocore {botocore.__version__}. Do not edit by hand.")
    print("// Each vector is a request signed by botocore, recorded as it goes on the wire.")
    print()
    print("extension SigV4Fixture {")
    print("    /// Requests signed by botocore (see make_vectors.py).")
    print("    static let botocore: [SigV4Fixture] = [")
    for v in vectors:
        print(swift_vector(v))
    print("    ]")
    print("}")


if __name__ == "__main__":
    main()
