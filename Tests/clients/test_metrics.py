"""`/metrics` in the Prometheus text format, parsed by the Prometheus project's own Python parser after a
boto3 workload: request counts and latency by action and outcome, shard Raft state, the log's persist
durations, queue depths, readiness and memory."""

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def scrape(endpoint):
    with urllib.request.urlopen(endpoint + "/metrics", timeout=10) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family, **labels):
    return [s for s in family.samples if all(s.labels.get(k) == v for k, v in labels.items())]


def test_metrics_after_a_workload_parse_with_the_expected_families(sqs, queue):
    url = queue("metrics")
    name = url.rsplit("/", 1)[1]
    for index in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{index}")
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60)["Messages"]
    assert received
    try:
        sqs.get_queue_url(QueueName="no-such-queue-for-metrics")
    except sqs.exceptions.QueueDoesNotExist:
        pass
    families = scrape(sqs.meta.endpoint_url)

    requests = families["ferry_requests"]
    assert requests.type == "counter"
    sent = samples(requests, action="SendMessage", outcome="ok")
    assert sent and sent[0].value >= 5, sent
    assert samples(requests, action="GetQueueUrl", outcome="AWS.SimpleQueueService.NonExistentQueue") or \
        samples(requests, action="GetQueueUrl", outcome="QueueDoesNotExist"), requests.samples[:20]

    durations = families["ferry_request_duration_seconds"]
    assert durations.type == "histogram"
    counts = [s for s in samples(durations, action="SendMessage") if s.name.endswith("_count")]
    assert counts and counts[0].value >= 5

    for family in ("ferry_shard_leader", "ferry_shard_term", "ferry_shard_commit_index",
                   "ferry_shard_applied_index", "ferry_shard_proposals_pending", "ferry_node_ready",
                   "ferry_process_resident_memory_bytes", "ferry_http_connections_open"):
        assert families[family].type == "gauge", family
        assert families[family].samples, family
    assert any(s.value == 1 for s in families["ferry_shard_leader"].samples)
    assert families["ferry_node_ready"].samples[0].value == 1
    assert families["ferry_process_resident_memory_bytes"].samples[0].value > 1_000_000
    assert families["ferry_http_connections_open"].samples[0].value >= 1  # this scrape's own

    visible = samples(families["ferry_queue_messages_visible"], queue=name)
    in_flight = samples(families["ferry_queue_messages_in_flight"], queue=name)
    assert visible and visible[0].value == 5 - len(received), visible
    assert in_flight and in_flight[0].value == len(received), in_flight

    persist = families["ferry_log_persist_duration_seconds"]
    assert persist.type == "histogram"
    assert any(s.name.endswith("_count") and s.value > 0 for s in persist.samples)

    # Per queue: what it sent, received and deleted, its oldest message's age and its bytes.
    sqs.delete_message(QueueUrl=url, ReceiptHandle=received[0]["ReceiptHandle"])
    families = scrape(sqs.meta.endpoint_url)
    for family, expected in (("ferry_queue_messages_sent", 5), ("ferry_queue_messages_received", len(received)),
                             ("ferry_queue_messages_deleted", 1)):
        assert families[family].type == "counter", family
        assert samples(families[family], queue=name)[0].value == expected, family
    assert families["ferry_queue_oldest_message_age_seconds"].type == "gauge"
    assert samples(families["ferry_queue_oldest_message_age_seconds"], queue=name)[0].value >= 0
    assert samples(families["ferry_queue_stored_bytes"], queue=name)[0].value >= 4 * len("m0")
    for family in ("ferry_shard_snapshot_bytes", "ferry_shard_snapshot_timestamp_seconds"):
        assert families[family].type == "gauge" and families[family].samples, family
