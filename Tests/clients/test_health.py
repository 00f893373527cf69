"""`/health` and `/ready` on the SQS port: JSON, no credentials; the SQS API on `/` is unchanged.

`/ready` is true when every shard the node hosts has a leader it can reach: a 3-node cluster that loses
two nodes (kill -9) is not ready on the third, which says why, and is ready again once they are back."""

import json
import os
import shutil
import time
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import cluster_support as cs


def get(url, timeout=5):
    """(status, parsed JSON body) of a GET without credentials."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_health_and_ready_answer_without_credentials(endpoint):
    status, body = get(endpoint + "/health")
    assert status == 200 and body["status"] == "up", body
    deadline = time.monotonic() + 20
    while True:
        status, body = get(endpoint + "/ready")
        if status == 200:
            break
        assert time.monotonic() < deadline, body
        time.sleep(0.2)
    assert body["ready"] is True and body["groups"] >= 1, body
    assert "reasons" not in body
    # The SQS API on / is unchanged: an unsigned GET without an action is still an SQS error.
    request = urllib.request.Request(endpoint + "/")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=5)
    assert raised.value.code in (400, 403)
    assert b"MissingAction" in raised.value.read() or raised.value.code == 403


@pytest.mark.ferry_timeout(240)
@pytest.mark.skipif(bool(os.environ.get("FERRY_ENDPOINT")), reason="starts and kills its own cluster")
def test_ready_turns_false_when_the_cluster_loses_its_quorum_and_true_after():
    cluster = cs.LoopbackCluster(nodes=3, shards=2)
    try:
        print(cluster.up())

        def wait_ready(node, ready, timeout):
            deadline = time.monotonic() + timeout
            while True:
                status, body = get(cluster.endpoint(node) + "/ready")
                if body["ready"] is ready:
                    return status, body
                assert time.monotonic() < deadline, f"node {node} /ready is still {body}\n{cluster.tail_logs()}"
                time.sleep(0.25)

        for node in (1, 2, 3):
            status, body = wait_ready(node, True, 30)
            assert status == 200 and body["groups"] >= 2, body
        cluster.kill9(2)
        cluster.kill9(3)
        lost_at = time.monotonic()
        status, body = wait_ready(1, False, 30)
        print(f"node 1 not ready {time.monotonic() - lost_at:.1f}s after losing nodes 2 and 3: {body}")
        assert status == 503 and body["reasons"], body
        health, _ = get(cluster.endpoint(1) + "/health")
        assert health == 200, "the process is up though not ready"
        cluster.up()
        back_at = time.monotonic()
        for node in (1, 2, 3):
            status, body = wait_ready(node, True, 60)
            assert status == 200
        print(f"every node ready {time.monotonic() - back_at:.1f}s after nodes 2 and 3 restarted")
        # Node 1's peer links: bytes both ways, and a second link to each restarted node.
        with urllib.request.urlopen(cluster.endpoint(1) + "/metrics", timeout=10) as response:
            families = {f.name: f for f in text_string_to_metric_families(response.read().decode())}
        for peer in ("2", "3"):
            for family in ("ferry_peer_sent_bytes", "ferry_peer_received_bytes", "ferry_peer_links_established"):
                assert families[family].type == "counter", family
                values = [s.value for s in families[family].samples if s.labels.get("peer") == peer]
                assert values and values[0] >= (2 if family == "ferry_peer_links_established" else 1000), (
                    family, peer, values)
    finally:
        cluster.down()
        shutil.rmtree(cluster.dir, ignore_errors=True)
