"""Seeded fuzzing of both decoders with correctly signed, malformed requests.

Every answer must be a 4xx (never a 5xx, never a dropped connection), and the
server must keep serving afterwards.  Replay with FERRY_FUZZ_SEED=<seed>;
FERRY_FUZZ_COUNT sets the number of requests (default 300).
"""

import json
import os
import random
import urllib.parse

import pytest
import requests

import ferry_support as fs

COUNT = int(os.environ.get("FERRY_FUZZ_COUNT", "300"))
SEED = int(os.environ.get("FERRY_FUZZ_SEED") or random.SystemRandom().randrange(2**32))

# JSON actions whose every truncation is invalid JSON (all have required members)
JSON_ACTIONS = ["SendMessage", "ReceiveMessage", "SendMessageBatch", "DeleteMessageBatch",
                "ChangeMessageVisibility", "SetQueueAttributes", "CreateQueue", "GetQueueUrl",
                "TagQueue", "DeleteMessage"]
QUEUE_ACTIONS = ["SendMessage", "ReceiveMessage", "DeleteMessage", "SendMessageBatch",
                 "ChangeMessageVisibility", "GetQueueAttributes", "SetQueueAttributes", "TagQueue"]
HUGE = ["99999999999999999999999999999", "-99999999999999999999999", "1e400", "-1e400",
        "18446744073709551616", "9223372036854775808", "2147483648", "-2147483649",
        "1.5", "NaN", "Infinity", "0x10", "1e1", "--1", "+-3", "5abc"]


def _form(pairs):
    return "&".join(f"{urllib.parse.quote(k, safe='.')}={urllib.parse.quote(v, safe='')}"
                    for k, v in pairs).encode()


class Fuzzer:
    def __init__(self, rng, url, missing_url):
        self.rng, self.url, self.missing = rng, url, missing_url

    # ---------------------------------------------------------------- JSON

    def valid_json(self, action):
        u = self.url
        attrs = {"a": {"DataType": "String", "StringValue": "x" * self.rng.randint(0, 50)},
                 "b": {"DataType": "Binary", "BinaryValue": "AAEC"}}
        return {
            "SendMessage": {"QueueUrl": u, "MessageBody": "fuzz ✓", "DelaySeconds": 0,
                            "MessageAttributes": attrs},
            "ReceiveMessage": {"QueueUrl": u, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 0,
                               "VisibilityTimeout": 0, "MessageAttributeNames": ["All"],
                               "MessageSystemAttributeNames": ["All"]},
            "SendMessageBatch": {"QueueUrl": u, "Entries": [
                {"Id": f"e{i}", "MessageBody": f"b{i}", "MessageAttributes": attrs} for i in range(3)]},
            "DeleteMessageBatch": {"QueueUrl": u, "Entries": [{"Id": "d", "ReceiptHandle": "rh"}]},
            "ChangeMessageVisibility": {"QueueUrl": u, "ReceiptHandle": "rh", "VisibilityTimeout": 5},
            "SetQueueAttributes": {"QueueUrl": u, "Attributes": {"VisibilityTimeout": "0"}},
            "CreateQueue": {"QueueName": fs.queue_name(u), "Attributes": {}, "tags": {}},
            "GetQueueUrl": {"QueueName": fs.queue_name(u)},
            "TagQueue": {"QueueUrl": u, "Tags": {"k": "v"}},
            "DeleteMessage": {"QueueUrl": u, "ReceiptHandle": "rh"},
        }[action]

    def json_case(self):
        r = self.rng
        action = r.choice(JSON_ACTIONS)
        kind = r.choice(["truncate", "truncate", "random", "huge", "deep", "utf8", "types", "ctype"])
        if kind == "truncate":
            full = json.dumps(self.valid_json(action), separators=(",", ":"), ensure_ascii=r.random() < 0.5)
            data = full.encode("utf-8")
            body = data[: r.randrange(0, len(data))]
        elif kind == "random":
            body = bytes(r.randrange(256) for _ in range(r.randint(1, 3000)))
            action = r.choice(["SendMessage", "ReceiveMessage", "CreateQueue"])
        elif kind == "huge":
            action = "ReceiveMessage"
            field = r.choice(["MaxNumberOfMessages", "WaitTimeSeconds", "VisibilityTimeout"])
            num = r.choice(HUGE[:8] + ["1" + "0" * r.randint(20, 5000)])
            body = ('{"QueueUrl":%s,"%s":%s}' % (json.dumps(self.url), field, num)).encode()
        elif kind == "deep":
            depth = r.choice([100, 1000, 10000, 100000])
            opener, closer = r.choice([("[", "]"), ('{"a":', "}")])
            member = r.choice(["QueueUrl", "MessageBody", "MessageAttributes", "Entries"])
            action = "SendMessage" if member != "Entries" else "SendMessageBatch"
            cut = r.random() < 0.3
            body = ('{"QueueUrl":%s,"%s":' % (json.dumps(self.url), member)
                    + opener * depth + "1" + ("" if cut else closer * depth) + "}").encode()
        elif kind == "utf8":
            action = "SendMessage"
            bad = r.choice([b"\xff", b"\xc3(", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xe2\x82"])
            where = r.choice(["body", "url", "key"])
            u = json.dumps(self.url).encode()
            if where == "body":
                body = b'{"QueueUrl":' + u + b',"MessageBody":"ok' + bad + b'ok"}'
            elif where == "url":
                body = b'{"QueueUrl":"http://127.0.0.1/' + bad + b'","MessageBody":"x"}'
            else:
                body = b'{"QueueUrl":' + u + b',"Message' + bad + b'Body":"x"}'
        elif kind == "types":
            action, payload = self.wrong_type()
            body = json.dumps(payload).encode()
        else:  # a form body sent as JSON
            body = _form([("Action", "SendMessage"), ("QueueUrl", self.url), ("MessageBody", "x")])
        headers = {"Content-Type": fs.JSON_CT, "X-Amz-Target": f"AmazonSQS.{action}"}
        return f"json/{kind}/{action}", body, headers

    def wrong_type(self):
        r, u = self.rng, self.url
        bad = r.choice(["x", [], {}, True, [1, 2], {"a": 1}, -1.5, "10"])
        cases = [
            ("ReceiveMessage", {"QueueUrl": u, "MaxNumberOfMessages": r.choice(["x", [], {}, True, "ten"])}),
            ("ReceiveMessage", {"QueueUrl": u, "VisibilityTimeout": r.choice(["x", [], {}, True])}),
            ("ReceiveMessage", {"QueueUrl": u, "MessageAttributeNames": r.choice(["All", 5, {}, [1]])}),
            ("SendMessage", {"QueueUrl": r.choice([5, [], {}, True]), "MessageBody": "x"}),
            ("SendMessage", {"QueueUrl": u, "MessageBody": r.choice([5, [], {}, True])}),
            ("SendMessage", {"QueueUrl": u, "MessageBody": "x", "MessageAttributes": r.choice([[], "x", 5])}),
            ("SendMessage", {"QueueUrl": u, "MessageBody": "x", "MessageAttributes": {"a": r.choice(["b", 1, []])}}),
            ("SendMessage", {"QueueUrl": u, "MessageBody": "x",
                             "MessageAttributes": {"a": {"DataType": r.choice([5, [], {}]), "StringValue": "v"}}}),
            ("SendMessage", {"QueueUrl": u, "MessageBody": "x", "DelaySeconds": r.choice(["abc", [], {}])}),
            ("SendMessage", {"QueueUrl": u, "MessageBody": "x", "MessageAttributes": {
                "a": {"DataType": "Binary", "BinaryValue": "!!!not base64!!!"}}}),
            ("SendMessageBatch", {"QueueUrl": u, "Entries": r.choice([{}, "x", [1, 2], [[]]])}),
            ("SetQueueAttributes", {"QueueUrl": u, "Attributes": r.choice([[], "x", {"VisibilityTimeout": [1]}])}),
            ("CreateQueue", {"QueueName": r.choice([5, [], {}, True])}),
            ("TagQueue", {"QueueUrl": u, "Tags": r.choice([[], "x", {"k": 5}])}),
            ("DeleteMessageBatch", {"QueueUrl": u, "Entries": [{"Id": bad if not isinstance(bad, str) else 7,
                                                                "ReceiptHandle": "rh"}]}),
        ]
        return r.choice(cases)

    # ---------------------------------------------------------------- Query

    def query_case(self):
        r = self.rng
        kind = r.choice(["truncate", "truncate", "random", "randform", "huge", "utf8", "ctype"])
        headers = {"Content-Type": fs.FORM_CT}
        if kind == "truncate":
            if r.random() < 0.5:  # the invalid parameter comes first: every prefix with Action is invalid
                poison, action, rest = r.choice([
                    (("MaxNumberOfMessages", "11"), "ReceiveMessage", [("WaitTimeSeconds", "0")]),
                    (("DelaySeconds", "901"), "SendMessage", [("MessageBody", "hello"),
                                                               ("MessageAttribute.1.Name", "a"),
                                                               ("MessageAttribute.1.Value.DataType", "String"),
                                                               ("MessageAttribute.1.Value.StringValue", "v")]),
                    (("VisibilityTimeout", "43201"), "ChangeMessageVisibility", [("ReceiptHandle", "rh")]),
                ])
                pairs = [poison, ("Action", action), ("Version", "2012-11-05"), ("QueueUrl", self.url)] + rest
            else:  # every prefix targets a missing queue or lacks something required
                pairs = [("Action", r.choice(QUEUE_ACTIONS)), ("Version", "2012-11-05"),
                         ("QueueUrl", self.missing), ("MessageBody", "hi"), ("ReceiptHandle", "rh"),
                         ("Attribute.1.Name", "VisibilityTimeout"), ("Attribute.1.Value", "1"),
                         ("Tag.1.Key", "k"), ("Tag.1.Value", "v"),
                         ("SendMessageBatchRequestEntry.1.Id", "a"),
                         ("SendMessageBatchRequestEntry.1.MessageBody", "b"),
                         ("VisibilityTimeout", "3")]
            data = _form(pairs)
            body = data[: r.randrange(0, len(data))]
        elif kind == "random":
            body = bytes(r.randrange(256) for _ in range(r.randint(1, 3000)))
        elif kind == "randform":
            pairs = [("Action", r.choice(QUEUE_ACTIONS))]
            if r.random() < 0.5:
                pairs.append(("QueueUrl", r.choice(["", "garbage", "http://", self.missing, "/" * 50])))
            for _ in range(r.randint(0, 30)):
                key = r.choice(["MessageAttribute", "Attribute", "Entry", "X", "AttributeName",
                                "SendMessageBatchRequestEntry"]) + "".join(
                    r.choice([".", "1", "99999999999999999999", "-1", "Name", "Value", "%", "&", "="])
                    for _ in range(r.randint(0, 6)))
                val = "".join(chr(r.choice([r.randrange(32, 127), r.randrange(0x80, 0x3000)]))
                              for _ in range(r.randint(0, 40)))
                pairs.append((key, val))
            body = _form(pairs)
            if r.random() < 0.3:
                body = body.replace(b"%", b"%%", r.randint(1, 3)) + b"&%zz=%g"
        elif kind == "huge":
            field = r.choice(["MaxNumberOfMessages", "WaitTimeSeconds", "VisibilityTimeout"])
            body = _form([("Action", "ReceiveMessage"), ("QueueUrl", self.url),
                          (field, r.choice(HUGE + ["1" + "0" * r.randint(20, 5000)]))])
        elif kind == "utf8":
            bad = r.choice([b"%FF", b"%C3%28", b"%ED%A0%80", b"%80", b"\xff", b"\xc3("])
            body = _form([("Action", "SendMessage"), ("QueueUrl", self.url)]) + b"&MessageBody=ok" + bad + b"ok"
        else:  # a JSON body sent as a form
            body = json.dumps({"QueueUrl": self.url, "MessageBody": "x"}).encode()
        return f"query/{kind}", body, headers


def test_fuzz_decoders(endpoint, sqs, queue, request):
    tr = request.config.pluginmanager.get_plugin("terminalreporter")
    note = f"fuzz seed={SEED} count={COUNT} (replay: FERRY_FUZZ_SEED={SEED})"
    print(note)
    if tr is not None:
        tr.write_line(f"\n{note}")
    url = queue("fuzz")
    missing = f"{endpoint}/{fs.ACCOUNT_ID}/{fs.unique_name('fznx')}"
    fz = Fuzzer(random.Random(SEED), url, missing)
    failures = []
    for i in range(COUNT):
        label, body, headers = fz.json_case() if i % 2 == 0 else fz.query_case()
        try:
            r = fs.signed_http(endpoint, "POST", "/", body=body, headers=headers)
        except requests.RequestException as e:
            failures.append((i, label, "connection", repr(e)[:200], body[:200]))
            continue
        if not 400 <= r.status_code < 500:
            failures.append((i, label, r.status_code, r.content[:300], body[:200]))
    assert not failures, f"{note}: {len(failures)} bad answers, first: " + "\n".join(
        repr(f) for f in failures[:10])

    # the server is still healthy
    sent = sqs.send_message(QueueUrl=url, MessageBody="still alive")
    got = fs.receive_all(sqs, url, 10, timeout=3)
    assert sent["MessageId"] in {m["MessageId"] for m in got}


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_oversized_body(endpoint, sqs, queue, protocol):
    url = queue("huge")
    big = "x" * (20 * 1024 * 1024)
    if protocol == "json":
        body = json.dumps({"QueueUrl": url, "MessageBody": big}).encode()
        headers = {"Content-Type": fs.JSON_CT, "X-Amz-Target": "AmazonSQS.SendMessage"}
    else:
        body = _form([("Action", "SendMessage"), ("QueueUrl", url), ("MessageBody", big)])
        headers = {"Content-Type": fs.FORM_CT}
    try:
        r = fs.signed_http(endpoint, "POST", "/", body=body, headers=headers)
        assert 400 <= r.status_code < 500, (r.status_code, r.content[:300])
    except requests.ConnectionError:
        pass  # closing the connection on an oversized body is acceptable
    sqs.send_message(QueueUrl=url, MessageBody="after the flood")
    assert [m["Body"] for m in fs.receive_all(sqs, url, 1)] == ["after the flood"]
    assert fs.queue_attrs(sqs, url, "ApproximateNumberOfMessagesNotVisible")[
        "ApproximateNumberOfMessagesNotVisible"] == "1"
