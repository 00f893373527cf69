"""A local 3-node Ferry cluster for fault tests, and a load that records the whole history.

The cluster runs as real `ferry serve` processes started by `ferry cluster up` (loopback), or by the
partition test inside network namespaces. The load sends unique bodies through boto3 from several
threads, each pinned to a node and moving to the next node when its node fails; consumers receive and
delete. `check_history` then says what was lost, unexpected or duplicated.
"""

import json
import os
import random
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time

import ferry_support as fs

MASK = (1 << 64) - 1
ELECTION_SECONDS = 2.0  # 10–20 ticks of 100 ms


# --------------------------------------------------------------------------- placement (as Placement.swift)


def _mix(x):
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & MASK
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & MASK
    x ^= x >> 33
    return x


def shard_of(name, shard_count):
    value = 0xCBF29CE484222325
    for byte in name.encode():
        value ^= byte
        value = (value * 0x100000001B3) & MASK
    key = _mix(value)
    bucket, nxt = -1, 0
    while nxt < shard_count:
        bucket = nxt
        key = (key * 2862933555777941757 + 1) & MASK
        nxt = int(float(bucket + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return bucket


def replicas_of(shard, nodes, replication_factor):
    """The nodes holding `shard`, preferred leader first (rendezvous hashing, as Placement.swift)."""
    def weight(node):
        return _mix(_mix(node) ^ (((shard + 1) * 0x9E3779B97F4A7C15) & MASK))
    ranked = sorted(nodes, key=lambda node: (-weight(node), node))
    return ranked[:replication_factor]


LEADER_LINE = re.compile(r"shard (\d+): (\w+), leader (\d+), term (\d+)")


def leader_from_logs(log_paths, shard):
    """The leader of `shard` in the highest term any node logged, or None."""
    best = (0, None)
    for path in log_paths:
        try:
            text = open(path, errors="replace").read()
        except OSError:
            continue
        for m in LEADER_LINE.finditer(text):
            if int(m.group(1)) == shard and int(m.group(3)) != 0 and int(m.group(4)) >= best[0]:
                best = (int(m.group(4)), int(m.group(3)))
    return best[1]


def wait_for_leader(log_paths, shard, not_node=None, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leader = leader_from_logs(log_paths, shard)
        if leader is not None and leader != not_node:
            return leader
        time.sleep(0.1)
    raise AssertionError(f"no leader for shard {shard} (other than {not_node}) within {timeout}s")


def free_port_block(count):
    for _ in range(200):
        base = random.randint(20000, 50000)
        sockets = []
        try:
            for port in range(base, base + count):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.bind(("127.0.0.1", port))
                sockets.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError("no free block of ports")


def process_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie child of ours counts as dead
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


def wait_dead(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while process_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.02)


# --------------------------------------------------------------------------- loopback cluster


class LoopbackCluster:
    """`ferry cluster up --nodes 3` in a temporary directory."""

    def __init__(self, nodes=3, shards=4, fsync="always", replication_factor=3, nodes_max=None):
        """`nodes_max`: ports are kept for that many nodes (nodes added later with `add`)."""
        self.binary = fs.resolve_ferry_bin()
        self.nodes = nodes
        self.shards = shards
        self.replication_factor = replication_factor
        self.fsync = fsync
        self.dir = tempfile.mkdtemp(prefix="ferry-cluster-")
        self.sqs_base = free_port_block(nodes_max or nodes)
        self.peer_base = free_port_block(nodes_max or nodes)

    def endpoint(self, node):
        return f"http://127.0.0.1:{self.sqs_base + node - 1}"

    @property
    def endpoints(self):
        return [self.endpoint(n) for n in range(1, self.nodes + 1)]

    def log_paths(self):
        return [os.path.join(self.dir, f"node-{n}.log") for n in range(1, self.nodes + 1)]

    def up(self, only=None, timeout=90, environment=None):
        """Starts the nodes (`only`: one of them); `environment` is added to theirs."""
        cmd = [
            self.binary, "cluster", "up", "--nodes", str(self.nodes), "--dir", self.dir,
            "--sqs-port", str(self.sqs_base), "--peer-port", str(self.peer_base),
            "--shards", str(self.shards), "--replication-factor", str(self.replication_factor),
            "--credentials", fs.CREDENTIALS_ARG, "--fsync", self.fsync,
            "--timeout", str(timeout - 10),
        ]
        if only is not None:
            cmd += ["--only", str(only)]
        env = dict(os.environ, **environment) if environment else None
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        assert r.returncode == 0, f"cluster up failed: {r.stdout}\n{r.stderr}\n{self.tail_logs()}"
        return r.stdout

    def add(self, count, timeout=120):
        """`ferry cluster up --add COUNT`: new nodes added to the running cluster and started with --join."""
        r = subprocess.run(
            [self.binary, "cluster", "up", "--dir", self.dir, "--add", str(count),
             "--sqs-port", str(self.sqs_base), "--peer-port", str(self.peer_base),
             "--credentials", fs.CREDENTIALS_ARG, "--fsync", self.fsync, "--timeout", str(timeout - 10)],
            capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, f"cluster up --add failed: {r.stdout}\n{r.stderr}\n{self.tail_logs()}"
        self.nodes += count
        return r.stdout

    def restart(self, node):
        """kill -9 of `node`, then `ferry serve --config node-N.json` again, as `cluster up` starts it (its
        config file as first written: its configured peers may have left the cluster since)."""
        self.kill9(node)
        log = open(os.path.join(self.dir, f"node-{node}.log"), "ab")
        process = subprocess.Popen(
            [self.binary, "serve", "--config", os.path.join(self.dir, f"node-{node}.json"),
             "--credentials", fs.CREDENTIALS_ARG, "--fsync", self.fsync],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        with open(os.path.join(self.dir, f"node-{node}.pid"), "w") as f:
            f.write(f"{process.pid}\n")
        return process

    def cluster_command(self, *args, timeout=60):
        """`ferry cluster ARGS --dir DIR`; returns the completed process."""
        return subprocess.run(
            [self.binary, "cluster", *args, "--dir", self.dir, "--credentials", fs.CREDENTIALS_ARG],
            capture_output=True, text=True, timeout=timeout)

    def status(self):
        """`ferry cluster status --json`, parsed."""
        r = self.cluster_command("status", "--json")
        assert r.returncode == 0, f"cluster status failed: {r.stdout}\n{r.stderr}"
        return json.loads(r.stdout)

    def down(self):
        subprocess.run(
            [self.binary, "cluster", "down", "--dir", self.dir, "--timeout", "10"],
            capture_output=True, text=True, timeout=60)

    def pid(self, node):
        with open(os.path.join(self.dir, f"node-{node}.pid")) as f:
            return int(f.read().strip())

    def signal(self, node, sig):
        os.kill(self.pid(node), sig)

    def kill9(self, node):
        pid = self.pid(node)
        os.kill(pid, signal.SIGKILL)
        wait_dead(pid)

    def leader_of(self, queue, not_node=None):
        return wait_for_leader(self.log_paths(), shard_of(queue, self.shards), not_node=not_node)

    def tail_logs(self, lines=30):
        out = []
        for path in self.log_paths():
            try:
                text = open(path, errors="replace").read().splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"--- {path}\n" + "\n".join(text))
        return "\n".join(out)


# --------------------------------------------------------------------------- load and history


class Load:
    """Producers and consumers over several endpoints; records attempted, acknowledged and received bodies."""

    def __init__(self, endpoints, queue_url_path, producers=3, consumers=2, batch_pause=0.0):
        self.endpoints = endpoints
        self.path = queue_url_path  # "/000000000000/name"
        self.lock = threading.Lock()
        self.attempted = set()
        self.acknowledged = set()
        self.ack_times = []
        self.received = []
        self.stop_producing = threading.Event()
        self.stop_consuming = threading.Event()
        self.batch_pause = batch_pause
        self.threads = [threading.Thread(target=self._produce, args=(w,), daemon=True) for w in range(producers)]
        self.threads += [threading.Thread(target=self._consume, args=(c,), daemon=True) for c in range(consumers)]

    def _client(self, index):
        endpoint = self.endpoints[index % len(self.endpoints)]
        return fs.make_sqs_client(endpoint, connect_timeout=1, read_timeout=6), endpoint + self.path

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def _produce(self, worker):
        node = worker
        sqs, url = self._client(node)
        for batch in range(100_000):
            if self.stop_producing.is_set():
                return
            entries = [{"Id": str(i), "MessageBody": f"w{worker}-b{batch}-m{i}"} for i in range(10)]
            with self.lock:
                self.attempted.update(e["MessageBody"] for e in entries)
            try:
                r = sqs.send_message_batch(QueueUrl=url, Entries=entries)
            except Exception:
                node += 1  # this node failed us: try the next one
                sqs, url = self._client(node)
                time.sleep(0.1)
                continue
            ok = {entries[int(s["Id"])]["MessageBody"] for s in r.get("Successful", [])}
            now = time.monotonic()
            with self.lock:
                self.acknowledged.update(ok)
                self.ack_times.append((now, len(ok)))
            if self.batch_pause:
                time.sleep(self.batch_pause)

    def _consume(self, worker):
        node = worker + 1
        sqs, url = self._client(node)
        while not self.stop_consuming.is_set():
            try:
                r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                messages = r.get("Messages", [])
                if messages:
                    with self.lock:
                        self.received.extend(m["Body"] for m in messages)
                    sqs.delete_message_batch(
                        QueueUrl=url,
                        Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
            except Exception:
                node += 1
                sqs, url = self._client(node)
                time.sleep(0.1)

    def acknowledged_between(self, start, end):
        with self.lock:
            return sum(n for t, n in self.ack_times if start <= t < end)

    def finish(self, drain_endpoints, drain_timeout=60):
        """Stops producing, lets consumers empty the queue, then drains whatever is left."""
        self.stop_producing.set()
        deadline = time.monotonic() + drain_timeout
        while time.monotonic() < deadline:
            with self.lock:
                missing = self.acknowledged - set(self.received)
            if not missing:
                break
            time.sleep(0.5)
        self.stop_consuming.set()
        for t in self.threads:
            t.join(15)
        # Whatever is still in the queue (in flight when a consumer stopped, or unacknowledged sends).
        sqs = fs.make_sqs_client(drain_endpoints[0], connect_timeout=2, read_timeout=10)
        url = drain_endpoints[0] + self.path
        empty = 0
        while empty < 3 and time.monotonic() < deadline + 40:
            r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=0)
            messages = r.get("Messages", [])
            if not messages:
                empty += 1
                continue
            empty = 0
            self.received.extend(m["Body"] for m in messages)
            sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])

    def check(self, label, acknowledged_min=200):
        received = self.received
        lost = self.acknowledged - set(received)
        unexpected = set(received) - self.attempted
        duplicated = len(received) - len(set(received))
        print(
            f"{label}: attempted {len(self.attempted)}, acknowledged {len(self.acknowledged)}, "
            f"received {len(received)}; lost {len(lost)}, unexpected {len(unexpected)}, duplicated {duplicated}"
        )
        assert len(self.acknowledged) >= acknowledged_min, f"{label}: too little load ({len(self.acknowledged)})"
        assert not lost, f"{label}: {len(lost)} acknowledged messages lost, e.g. {sorted(lost)[:5]}"
        assert not unexpected, f"{label}: received messages never sent: {sorted(unexpected)[:5]}"
