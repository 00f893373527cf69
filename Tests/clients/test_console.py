"""The web console (`/console`) in Debian's headless Chromium: it lists a queue created through boto3 with
its depth, shows a peeked message without changing its visibility, and its redrive button moves a
dead-letter queue's messages back. Its JSON endpoints and authentication are checked with plain HTTP: HTTP
Basic with the node's access keys, per account, the cluster page for the node's own account only, a
redrive only from the console's page, and no console without credentials unless asked for."""

import json
import os
import shutil
import subprocess
import time

import pytest
import requests

import chromium_support
import ferry_support as fs

pytestmark = pytest.mark.skipif(bool(os.environ.get("FERRY_ENDPOINT")), reason="starts its own servers")

OTHER_KEY = "AKIDCONSOLEOTHER"
OTHER_SECRET = "console-other-secret"
OTHER_ACCOUNT = "222222222222"


def count(sqs, url, attribute="ApproximateNumberOfMessages"):
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[attribute])["Attributes"][attribute])


def wait_until(condition, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not met within {timeout} s"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def server(start_ferry):
    return start_ferry(
        ["--console", "read-write", "--shards", "2", "--credentials", f"{OTHER_KEY}:{OTHER_SECRET}:{OTHER_ACCOUNT}"])


@pytest.fixture(scope="module")
def workload(server):
    """A queue with messages, and a dead-letter queue holding messages moved there by receives."""
    sqs = fs.make_sqs_client(server.endpoint)
    orders = sqs.create_queue(QueueName=fs.unique_name("orders"))["QueueUrl"]
    sqs.send_message_batch(QueueUrl=orders, Entries=[{"Id": str(i), "MessageBody": f"order {i}"} for i in range(3)])
    dlq = sqs.create_queue(QueueName=fs.unique_name("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    source = sqs.create_queue(
        QueueName=fs.unique_name("jobs"),
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1}),
                    "VisibilityTimeout": "0"},
        tags={"team": "payments"},
    )["QueueUrl"]
    sqs.send_message_batch(
        QueueUrl=source, Entries=[{"Id": str(i), "MessageBody": f"hello console <b>{i}</b>"} for i in range(5)])
    for _ in range(100):
        sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10)
        if count(sqs, dlq) == 5:
            break
        time.sleep(0.1)
    assert count(sqs, dlq) == 5 and count(sqs, source) == 0
    return {"sqs": sqs, "orders": orders, "dlq": dlq, "source": source}


@pytest.mark.ferry_timeout(180)
def test_the_console_in_chromium_lists_peeks_and_redrives(server, workload, tmp_path):
    sqs = workload["sqs"]
    orders, dlq, source = (fs.queue_name(workload[k]) for k in ("orders", "dlq", "source"))
    browser = chromium_support.Chromium()
    try:
        # Without credentials the browser is asked for them.
        assert browser.open(f"{server.endpoint}/console") == 401
        browser.basic_auth(fs.ACCESS_KEY, fs.SECRET_KEY)

        # The queues page: each queue with its depth, the dead-letter link both ways.
        assert browser.open(f"{server.endpoint}/console") == 200
        cell = "document.querySelector('tr[data-queue=\"{}\"] td.{}').textContent"
        assert browser.evaluate(cell.format(orders, "visible")) == "3"
        assert browser.evaluate(cell.format(dlq, "visible")) == "5"
        assert browser.evaluate(cell.format(source, "dlq")) == dlq
        assert browser.evaluate(cell.format(dlq, "sources")) == source
        assert browser.evaluate(cell.format(orders, "oldest")) != ""
        # The script refreshes the page from the JSON endpoint (the same rows, rendered in the browser).
        browser.wait_for("document.getElementById('updated').textContent.startsWith('updated')", timeout=15)
        assert browser.evaluate(cell.format(orders, "visible")) == "3"
        sqs.send_message(QueueUrl=workload["orders"], MessageBody="one more")
        browser.wait_for(f"{cell.format(orders, 'visible')} === '4'", timeout=15)
        assert browser.evaluate("document.querySelectorAll('svg.sparkline').length") >= 3
        screenshot = tmp_path / "console.png"
        browser.screenshot(screenshot)
        assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        if os.environ.get("FERRY_CONSOLE_SCREENSHOT"):
            shutil.copy(screenshot, os.environ["FERRY_CONSOLE_SCREENSHOT"])

        # The dead-letter queue's page: peeked bodies (escaped, shown as text), and nothing changed.
        assert browser.open(f"{server.endpoint}/console/queues/{dlq}") == 200
        bodies = browser.evaluate("[...document.querySelectorAll('#messages pre.body')].map(e => e.textContent)")
        assert sorted(bodies) == sorted(f"hello console <b>{i}</b>" for i in range(5))
        assert browser.evaluate("document.querySelectorAll('#messages b').length") == 0
        assert browser.evaluate("document.getElementById('visible').textContent") == "5"
        assert count(sqs, workload["dlq"]) == 5
        assert count(sqs, workload["dlq"], "ApproximateNumberOfMessagesNotVisible") == 0
        browser.evaluate("document.getElementById('peek').click()")
        time.sleep(0.5)
        assert count(sqs, workload["dlq"], "ApproximateNumberOfMessagesNotVisible") == 0

        # The redrive button starts a move task; the messages go back to their source queue.
        browser.evaluate("document.getElementById('redrive').click()")
        browser.wait_for("document.getElementById('redrive-status').textContent === 'redrive started'")
        wait_until(lambda: count(sqs, workload["source"]) == 5 and count(sqs, workload["dlq"]) == 0,
                   what="messages moved back")
        browser.wait_for("document.getElementById('visible').textContent === '0'", timeout=15)
        assert browser.evaluate("document.querySelector('#move-tasks td.status').textContent") in (
            "COMPLETED", "RUNNING")

        # The source queue's page shows its tags and its dead-letter queue.
        assert browser.open(f"{server.endpoint}/console/queues/{source}") == 200
        text = browser.evaluate("document.body.innerText")
        assert "payments" in text and dlq in text

        # The cluster page lists this node and its shards with their leader.
        assert browser.open(f"{server.endpoint}/console/cluster") == 200
        assert browser.evaluate("document.querySelectorAll('#shards tbody tr').length") == 2
        assert browser.evaluate("document.querySelector('#shards tbody tr td:nth-child(3)').textContent") == "1"
    finally:
        browser.close()


@pytest.mark.ferry_timeout(60)
def test_the_console_is_per_account_and_refuses_what_it_must(server, workload):
    base = f"{server.endpoint}/console"
    own = (fs.ACCESS_KEY, fs.SECRET_KEY)
    other = (OTHER_KEY, OTHER_SECRET)
    orders = fs.queue_name(workload["orders"])
    dlq = fs.queue_name(workload["dlq"])

    assert requests.get(f"{base}/api/queues", timeout=10).status_code == 401
    assert requests.get(f"{base}/api/queues", auth=(fs.ACCESS_KEY, "wrong"), timeout=10).status_code == 401
    listed = requests.get(f"{base}/api/queues", auth=own, timeout=10)
    assert listed.status_code == 200 and listed.headers["Content-Type"] == "application/json"
    assert orders in {q["name"] for q in listed.json()}
    assert "default-src 'none'" in listed.headers["Content-Security-Policy"]

    # Another account's key sees none of these queues and cannot peek, redrive or see the cluster.
    assert requests.get(f"{base}/api/queues", auth=other, timeout=10).json() == []
    assert requests.get(f"{base}/api/queues/{orders}", auth=other, timeout=10).status_code == 404
    assert requests.get(f"{base}/api/queues/{orders}/messages", auth=other, timeout=10).status_code == 404
    assert requests.get(f"{base}/api/cluster", auth=other, timeout=10).status_code == 403
    headers = {"X-Ferry-Console": "redrive"}
    assert requests.post(f"{base}/api/queues/{dlq}/redrive", auth=other, headers=headers, timeout=10).status_code == 404

    # A redrive needs the console's header, and the console's own origin when the browser sends one.
    assert requests.post(f"{base}/api/queues/{dlq}/redrive", auth=own, timeout=10).status_code == 403
    foreign = dict(headers, Origin="http://evil.example")
    assert requests.post(f"{base}/api/queues/{dlq}/redrive", auth=own, headers=foreign, timeout=10).status_code == 403

    # A peek is JSON of the oldest messages and changes nothing.
    peeked = requests.get(f"{base}/api/queues/{orders}/messages", auth=own, timeout=10).json()
    assert [m["body"] for m in peeked][:3] == ["order 0", "order 1", "order 2"]
    assert count(workload["sqs"], workload["orders"], "ApproximateNumberOfMessagesNotVisible") == 0

    # /health, /ready and /metrics stay open; the SQS API on / is unchanged.
    assert requests.get(f"{server.endpoint}/health", timeout=10).status_code == 200
    unsigned = requests.get(server.endpoint + "/", timeout=10)
    assert unsigned.status_code == 403 and "<ErrorResponse" in unsigned.text


def serve_without_credentials(extra, port):
    return subprocess.Popen(
        [fs.resolve_ferry_bin(), "serve", "--in-memory", "--port", str(port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


@pytest.mark.ferry_timeout(60)
def test_without_credentials_the_console_is_shown_only_when_asked_for():
    for extra, expected in (([], 404), (["--console", "read-only"], 200)):
        port = fs.free_port()
        proc = serve_without_credentials(extra, port)
        try:
            assert "listening on" in proc.stdout.readline()
            status = requests.get(f"http://127.0.0.1:{port}/console", timeout=10)
            assert status.status_code == expected, status.text
            if expected == 200:
                assert 'id="redrive"' not in status.text
                refused = requests.post(
                    f"http://127.0.0.1:{port}/console/api/queues/x/redrive", headers={"X-Ferry-Console": "redrive"},
                    timeout=10)
                assert refused.status_code == 403 and "read-only" in refused.text
        finally:
            proc.terminate()
            proc.wait(10)
