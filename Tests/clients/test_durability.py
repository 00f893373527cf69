"""Durability of `ferry serve` across kill -9.

Producers send through boto3 while the server is killed with SIGKILL; the server restarts on the same
data directory, and every message whose send was acknowledged must be there. Nothing else may appear.
Skipped against an external server (FERRY_ENDPOINT): it needs to kill and restart the process.
"""

import base64
import os
import signal
import subprocess
import tempfile
import threading
import time

import pytest

import ferry_support as fs

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("FERRY_ENDPOINT")), reason="kills and restarts its own ferry process"
)

PRODUCERS = 4
# Bounds on the load: each producer stops at this many batches, or when the server dies.
BATCHES_PER_PRODUCER_MAX = 5_000
LOAD_SECONDS_BEFORE_KILL = 1.5


def start_server(data_dir, *extra):
    return fs.FerryProcess(extra_args=tuple(extra), data_dir=data_dir).start()


def drain(sqs, url, expected_at_least, timeout=60.0):
    """Receives and deletes until the queue is empty (after at least `expected_at_least`); returns bodies."""
    bodies = []
    deadline = time.monotonic() + timeout
    empty_polls = 0
    while time.monotonic() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1 if bodies else 0)
        messages = r.get("Messages", [])
        if not messages:
            empty_polls += 1
            if len(bodies) >= expected_at_least and empty_polls >= 2:
                break
            continue
        empty_polls = 0
        bodies.extend(m["Body"] for m in messages)
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
        )
    return bodies


def produce_until_killed(endpoint, url, server, fifo=False, kill_when=None):
    """Runs producers, kills the server mid-load; returns (acknowledged bodies, attempted bodies)."""
    acknowledged = set()
    attempted = set()
    lock = threading.Lock()
    stop = threading.Event()

    def producer(worker):
        sqs = fs.make_sqs_client(endpoint, connect_timeout=2, read_timeout=5)
        for batch in range(BATCHES_PER_PRODUCER_MAX):
            if stop.is_set():
                return
            entries = []
            for i in range(10):
                body = f"w{worker}-b{batch}-m{i}"
                entry = {"Id": str(i), "MessageBody": body}
                if fifo:
                    entry["MessageGroupId"] = f"g{worker}"
                    entry["MessageDeduplicationId"] = body
                entries.append(entry)
            with lock:
                attempted.update(e["MessageBody"] for e in entries)
            try:
                r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            except Exception:  # the server died under us: this batch is not acknowledged
                return
            ok = {entries[int(s["Id"])]["MessageBody"] for s in r.get("Successful", [])}
            with lock:
                acknowledged.update(ok)

    threads = [threading.Thread(target=producer, args=(w,), daemon=True) for w in range(PRODUCERS)]
    for t in threads:
        t.start()
    time.sleep(LOAD_SECONDS_BEFORE_KILL)
    if kill_when is not None:
        fs.wait_until(kill_when, timeout=60, interval=0.05, desc="the moment to kill")
        time.sleep(0.3)
    server.kill9()  # mid-load: sends are in flight right now
    stop.set()
    for t in threads:
        t.join(15)
    return acknowledged, attempted


def check_history(acknowledged, attempted, received, label):
    lost = acknowledged - set(received)
    unexpected = set(received) - attempted
    duplicated = len(received) - len(set(received))
    print(
        f"{label}: acknowledged {len(acknowledged)}, attempted {len(attempted)}, received {len(received)}; "
        f"lost {len(lost)}, unexpected {len(unexpected)}, duplicated {duplicated}"
    )
    assert len(acknowledged) > 100, f"{label}: too little load before the kill ({len(acknowledged)})"
    assert not lost, f"{label}: {len(lost)} acknowledged messages lost, e.g. {sorted(lost)[:5]}"
    assert not unexpected, f"{label}: received messages never sent: {sorted(unexpected)[:5]}"


@pytest.mark.ferry_timeout(120)
@pytest.mark.parametrize("fsync", ["always", "batch", "never"])
def test_kill9_mid_load_loses_no_acknowledged_message(fsync):
    with tempfile.TemporaryDirectory(prefix="ferry-kill9-") as data_dir:
        server = start_server(data_dir, "--fsync", fsync)
        sqs = fs.make_sqs_client(server.endpoint)
        url = sqs.create_queue(QueueName="durable")["QueueUrl"]
        acknowledged, attempted = produce_until_killed(server.endpoint, url, server)

        restarted = start_server(data_dir, "--fsync", fsync)
        try:
            sqs = fs.make_sqs_client(restarted.endpoint)
            url = sqs.get_queue_url(QueueName="durable")["QueueUrl"]
            received = drain(sqs, url, len(acknowledged))
            check_history(acknowledged, attempted, received, f"kill -9, fsync={fsync}")
        finally:
            restarted.stop_and_check()


@pytest.mark.ferry_timeout(120)
def test_kill9_with_snapshots_and_fifo_loses_nothing():
    # Snapshots every 1,000 commands, so the kill lands after several snapshots and log compactions.
    with tempfile.TemporaryDirectory(prefix="ferry-kill9-") as data_dir:
        server = start_server(data_dir, "--snapshot-every", "1000")
        sqs = fs.make_sqs_client(server.endpoint)
        url = sqs.create_queue(
            QueueName="durable.fifo", Attributes={"FifoQueue": "true", "DeduplicationScope": "messageGroup",
                                                  "FifoThroughputLimit": "perMessageGroupId"}
        )["QueueUrl"]
        log_dir = os.path.join(data_dir, "shard-0")

        def snapshots():
            return [n for n in os.listdir(log_dir) if n.endswith(".snap")]

        acknowledged, attempted = produce_until_killed(
            server.endpoint, url, server, fifo=True, kill_when=lambda: len(snapshots()) > 0)
        written = snapshots()

        restarted = start_server(data_dir, "--snapshot-every", "1000")
        try:
            sqs = fs.make_sqs_client(restarted.endpoint)
            url = sqs.get_queue_url(QueueName="durable.fifo")["QueueUrl"]
            received = drain(sqs, url, len(acknowledged))
            check_history(acknowledged, attempted, received, "kill -9 with snapshots, FIFO")
            assert written, f"no snapshot was written before the kill: {os.listdir(log_dir)}"
            # FIFO order per group survived: each producer's messages arrive in send order.
            for worker in range(PRODUCERS):
                mine = [b for b in received if b.startswith(f"w{worker}-")]
                keys = [tuple(int(p[1:]) for p in b.split("-")[1:]) for b in mine]
                assert keys == sorted(keys), f"group g{worker} out of order after restart"
        finally:
            restarted.stop_and_check()


@pytest.mark.ferry_timeout(90)
def test_restart_restores_queues_in_flight_messages_dlq_and_dedup():
    with tempfile.TemporaryDirectory(prefix="ferry-restart-") as data_dir:
        server = start_server(data_dir)
        sqs = fs.make_sqs_client(server.endpoint)
        dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        src = sqs.create_queue(
            QueueName="source",
            Attributes={"RedrivePolicy": f'{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"1"}}'},
            tags={"team": "ferry"},
        )["QueueUrl"]
        fifo = sqs.create_queue(QueueName="dedup.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
        for i in range(5):
            sqs.send_message(QueueUrl=src, MessageBody=f"s{i}", DelaySeconds=0)
        sqs.send_message(QueueUrl=src, MessageBody="delayed", DelaySeconds=900)
        in_flight = sqs.receive_message(QueueUrl=src, MaxNumberOfMessages=2, VisibilityTimeout=600)["Messages"]
        first = sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d1")
        server.kill9()

        restarted = start_server(data_dir)
        try:
            sqs = fs.make_sqs_client(restarted.endpoint)
            attrs = fs.queue_attrs(sqs, src)
            assert attrs["ApproximateNumberOfMessages"] == "3"
            assert attrs["ApproximateNumberOfMessagesNotVisible"] == "2"
            assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
            assert dlq_arn in attrs["RedrivePolicy"]
            assert sqs.list_queue_tags(QueueUrl=src)["Tags"] == {"team": "ferry"}
            dlq = sqs.get_queue_url(QueueName="dead")["QueueUrl"]
            src = sqs.get_queue_url(QueueName="source")["QueueUrl"]
            fifo = sqs.get_queue_url(QueueName="dedup.fifo")["QueueUrl"]
            assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [src]
            # Receipt handles issued before the crash still work.
            sqs.delete_message(QueueUrl=src, ReceiptHandle=in_flight[0]["ReceiptHandle"])
            assert fs.queue_attrs(sqs, src)["ApproximateNumberOfMessagesNotVisible"] == "1"
            # The deduplication id is remembered: the same send is not a new message.
            again = sqs.send_message(QueueUrl=fifo, MessageBody="once", MessageGroupId="g", MessageDeduplicationId="d1")
            assert again["MessageId"] == first["MessageId"]
            assert fs.queue_attrs(sqs, fifo)["ApproximateNumberOfMessages"] == "1"
        finally:
            restarted.stop_and_check()


def run_until_listening_or_exit(data_dir, timeout=20):
    """Starts ferry serve on `data_dir`; returns (exit code or None if it is serving, output)."""
    cmd = [fs.resolve_ferry_bin(), "serve", "--port", str(fs.free_port()), "--data-dir", data_dir,
           "--credentials", fs.CREDENTIALS_ARG]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    output = []
    deadline = time.monotonic() + timeout
    for line in iter(proc.stdout.readline, b""):
        output.append(line.decode("utf-8", "replace"))
        if "listening on" in output[-1] or time.monotonic() > deadline:
            break
    if proc.poll() is None and any("listening on" in line for line in output):
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        return None, "".join(output)
    proc.wait(10)
    return proc.returncode, "".join(output)


@pytest.mark.ferry_timeout(60)
def test_a_torn_tail_is_cut_but_corruption_elsewhere_refuses_to_start():
    with tempfile.TemporaryDirectory(prefix="ferry-corrupt-") as data_dir:
        server = start_server(data_dir)
        sqs = fs.make_sqs_client(server.endpoint)
        url = sqs.create_queue(QueueName="q")["QueueUrl"]
        for i in range(20):
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(j), "MessageBody": f"{i}-{j}"} for j in range(10)])
        server.kill9()
        segment = os.path.join(data_dir, "shard-0", "segment-00000000000000000001.log")
        size = os.path.getsize(segment)

        # A torn write: half a record header after the last record. The node starts and keeps everything.
        with open(segment, "ab") as f:
            f.write(b"\x40\x00\x00\x00\x01\x00\x00")
        code, output = run_until_listening_or_exit(data_dir)
        assert code is None, f"a torn tail stopped the start:\n{output}"
        assert os.path.getsize(segment) == size

        # A flipped bit inside an acknowledged record: the node refuses to start and names file and offset.
        with open(segment, "r+b") as f:
            f.seek(size // 2)
            byte = f.read(1)
            f.seek(size // 2)
            f.write(bytes([byte[0] ^ 0x10]))
        code, output = run_until_listening_or_exit(data_dir)
        assert code not in (None, 0), f"started on a corrupt log:\n{output}"
        assert "segment-00000000000000000001.log" in output and "byte" in output, output


@pytest.mark.ferry_timeout(90)
def test_a_full_disk_answers_service_unavailable_exits_and_loses_nothing_acknowledged():
    # A real ENOSPC: the data directory is a 1 MiB tmpfs (needs root for mount; skipped otherwise).
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = tempfile.mkdtemp(prefix="ferry-full-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount_point]).returncode != 0:
        os.rmdir(mount_point)
        pytest.skip("cannot mount a tmpfs here")
    try:
        data_dir = os.path.join(mount_point, "data")
        server = start_server(data_dir)
        sqs = fs.make_sqs_client(server.endpoint)
        url = sqs.create_queue(QueueName="full")["QueueUrl"]
        acknowledged = []
        refusal = None
        for i in range(1_000):  # 1,000 × 10 × 1 KB is ten times the disk
            entries = [{"Id": str(j), "MessageBody": f"{i}-{j}-" + base64.b64encode(os.urandom(750)).decode()} for j in range(10)]
            try:
                r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            except Exception as error:  # noqa: BLE001 - the first refusal ends the loop
                refusal = error
                break
            acknowledged.extend(entries[int(s["Id"])]["MessageBody"] for s in r["Successful"])
        assert refusal is not None, "the disk never filled"
        assert fs.error_code(refusal) == "ServiceUnavailable", f"refused with {refusal!r}"
        assert server.proc.wait(10) == 75, "the node did not exit after the log failed"

        subprocess.run(["mount", "-o", "remount,size=64m", mount_point], check=True)
        restarted = start_server(data_dir)
        try:
            sqs = fs.make_sqs_client(restarted.endpoint)
            received = drain(sqs, sqs.get_queue_url(QueueName="full")["QueueUrl"], len(acknowledged))
            lost = set(acknowledged) - set(received)
            print(f"disk full: acknowledged {len(acknowledged)}, received {len(received)}, lost {len(lost)}")
            assert len(acknowledged) > 20 and not lost
        finally:
            restarted.stop_and_check()
    finally:
        subprocess.run(["umount", "-l", mount_point])
        os.rmdir(mount_point)


RESTART_SENDS_MAX = 20_000
RESTART_LOAD_SECONDS_MAX = 45.0
RESTART_THREADS = 8
RESTART_ROUNDS = 3
SENDS_PER_THREAD_AFTER_RESTART = 50


def send_singles(endpoint, url, prefix, per_thread, deadline, start_together=False):
    """8 threads send single messages; returns ({body: message id}, [problems]). Every answer must be 200
    with its own body's MD5 (no 5xx, no other request's answer)."""
    answers = {}
    problems = []
    lock = threading.Lock()
    barrier = threading.Barrier(RESTART_THREADS)

    def sender(worker):
        sqs = fs.make_sqs_client(endpoint, read_timeout=20)
        if start_together:
            barrier.wait(30)
        for n in range(per_thread):
            if time.monotonic() > deadline:
                return
            body = f"{prefix}-w{worker}-{n}"
            try:
                r = sqs.send_message(QueueUrl=url, MessageBody=body)
            except Exception as error:  # a 5xx or a refused request: the scenario's bug
                with lock:
                    problems.append(f"{body}: {error}")
                continue
            with lock:
                if r["MD5OfMessageBody"] != fs.md5_hex(body):
                    problems.append(f"{body}: answered with another message's MD5 {r['MD5OfMessageBody']}")
                answers[body] = r["MessageId"]

    threads = [threading.Thread(target=sender, args=(w,), daemon=True) for w in range(RESTART_THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(RESTART_LOAD_SECONDS_MAX + 30)
    return answers, problems


@pytest.mark.ferry_timeout(300)
def test_restarts_after_kill9_answer_every_request_with_its_own_result():
    # The scenario from the field: many single sends from 8 threads, kill -9, restart, 8 threads sending at
    # once. Request ids restarted with the process, so replayed entries answered new requests (a 500, or
    # a 200 with another message's id). Repeated: every answer must be its own and nothing acknowledged lost.
    with tempfile.TemporaryDirectory(prefix="ferry-restart-") as data_dir:
        server = start_server(data_dir)
        sqs = fs.make_sqs_client(server.endpoint)
        url = sqs.create_queue(QueueName="restarts")["QueueUrl"]
        acknowledged, problems = send_singles(
            server.endpoint, url, "load", RESTART_SENDS_MAX // RESTART_THREADS,
            time.monotonic() + RESTART_LOAD_SECONDS_MAX)
        for round_number in range(RESTART_ROUNDS):
            server.kill9()
            server = start_server(data_dir)
            answers, round_problems = send_singles(
                server.endpoint, url, f"after-restart-{round_number}", SENDS_PER_THREAD_AFTER_RESTART,
                time.monotonic() + RESTART_LOAD_SECONDS_MAX, start_together=True)
            acknowledged.update(answers)
            problems.extend(round_problems)
        try:
            ids = list(acknowledged.values())
            assert not problems, f"{len(problems)} answers were not their own or failed: {problems[:5]}"
            assert len(set(ids)) == len(ids), "one message id answered two sends"
            sqs = fs.make_sqs_client(server.endpoint)
            received = drain(sqs, url, len(acknowledged), timeout=120)
            print(f"restarts: {len(acknowledged)} sends acknowledged over {RESTART_ROUNDS} kill -9 restarts")
            check_history(set(acknowledged), set(acknowledged), received, "restarts after kill -9")
        finally:
            server.stop_and_check()
