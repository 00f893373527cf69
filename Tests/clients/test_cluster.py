"""Fault tests of a 3-node cluster: real `ferry serve` processes, real faults, boto3 load, whole history.

Each test runs producers and consumers through boto3 against all three nodes while a fault hits the
cluster, then drains the queue and checks that every acknowledged send was received at least once and
that nothing was received that was never sent (lost / unexpected / duplicated counts are printed).
"""

import json
import os
import shutil
import signal
import subprocess
import time

import pytest

import cluster_support as cs
import ferry_support as fs

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("FERRY_ENDPOINT")), reason="starts, kills and restarts its own cluster"
)

QUEUE = "orders"


@pytest.fixture
def cluster():
    c = cs.LoopbackCluster(nodes=3, shards=4)
    try:
        print(c.up())
        yield c
    finally:
        c.down()
        shutil.rmtree(c.dir, ignore_errors=True)


def start_load(cluster):
    sqs = fs.make_sqs_client(cluster.endpoint(1))
    url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
    path = url[url.index("/", len("http://")):]
    return cs.Load(cluster.endpoints, path).start()


LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1"


@pytest.mark.ferry_timeout(120)
@pytest.mark.skipif(not os.path.exists(LIBFAKETIME), reason="needs Debian's faketime (scripts/setup --test)")
def test_a_peer_link_is_redialed_after_a_clock_skew_and_a_paused_peer(tmp_path):
    """Found by `ferry chaos` (seed 514): a node whose wall clock libfaketime had skewed closed its silent
    link to a paused peer and never dialed it again (its redial waited with `Task.sleep`). The dialer
    (node 1, the lower id) runs under libfaketime as `ferry chaos` runs nodes; its clock is skewed and
    put back, node 2 is paused past the link's idle timeout, and node 1 must dial it again."""
    clock = tmp_path / "clock"
    clock.write_text("+0")
    c = cs.LoopbackCluster(nodes=2, shards=2, replication_factor=2)
    try:
        c.up(environment={
            "LD_PRELOAD": LIBFAKETIME, "FAKETIME_TIMESTAMP_FILE": str(clock), "FAKETIME_CACHE_DURATION": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        })
        log = c.log_paths()[0]

        def link_lines():
            text = open(log, errors="replace").read()
            return [line for line in text.splitlines() if "peer link to node 2 is" in line]

        clock.write_text("-90s x1.1")
        time.sleep(7)
        clock.write_text("+0")
        time.sleep(3)
        before = len(link_lines())
        c.signal(2, signal.SIGSTOP)
        time.sleep(5)  # past the idle timeout (3 s): node 1 closes the link
        c.signal(2, signal.SIGCONT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            lines = link_lines()[before:]
            if any(line.endswith("is down") for line in lines) and lines and "is up" in lines[-1]:
                break
            time.sleep(0.5)
        lines = link_lines()[before:]
        print("\n".join(lines))
        assert any("is down" in line for line in lines), f"the link never closed:\n{c.tail_logs()}"
        assert lines and "is up" in lines[-1], f"node 1 did not dial node 2 again within 20 s:\n{c.tail_logs()}"
    finally:
        c.down()
        shutil.rmtree(c.dir, ignore_errors=True)


@pytest.mark.ferry_timeout(240)
def test_leaderships_go_back_to_their_preferred_nodes_after_a_kill(cluster):
    """Leader balancing: each shard's leadership settles on placement's preferred node (the first of its
    replicas), and does again after that node is killed and restarted; nothing is lost meanwhile."""
    load = start_load(cluster)
    nodes = [1, 2, 3]
    shards = range(cluster.shards)
    preferred = {shard: cs.replicas_of(shard, nodes, 3)[0] for shard in shards}

    def wait_balanced(timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            leaders = {shard: cs.leader_from_logs(cluster.log_paths(), shard) for shard in shards}
            if leaders == preferred:
                return leaders
            time.sleep(0.5)
        raise AssertionError(f"leaders {leaders}, preferred {preferred}\n{cluster.tail_logs()}")

    wait_balanced(60)
    victim = max(nodes, key=lambda node: sum(1 for shard in shards if preferred[shard] == node))
    its_shards = [shard for shard in shards if preferred[shard] == victim]
    cluster.kill9(victim)
    for shard in its_shards:
        cs.wait_for_leader(cluster.log_paths(), shard, not_node=victim)
    time.sleep(2)
    cluster.up(only=victim)
    back_at = time.monotonic()
    wait_balanced(60)
    returned_after = time.monotonic() - back_at
    load.finish(cluster.endpoints)
    print(f"preferred leaders {preferred}; node {victim} (preferred for shards {its_shards}) killed, "
          f"restarted, led them again after {returned_after:.1f}s")
    load.check(f"kill -9 of node {victim}, its leaderships returned")


@pytest.mark.ferry_timeout(240)
def test_the_shard_leader_killed_mid_load_and_restarted_loses_nothing(cluster):
    load = start_load(cluster)
    time.sleep(2)
    leader = cluster.leader_of(QUEUE)
    cluster.kill9(leader)
    killed_at = time.monotonic()
    new_leader = cluster.leader_of(QUEUE, not_node=leader)
    time.sleep(3)
    served_without_it = load.acknowledged_between(killed_at, time.monotonic())
    cluster.up(only=leader)
    time.sleep(2)
    load.finish(cluster.endpoints)
    print(f"killed leader {leader}; node {new_leader} took over; {served_without_it} sends acknowledged meanwhile")
    load.check(f"kill -9 of leader {leader}")
    assert served_without_it > 0, "the two surviving nodes acknowledged nothing"


@pytest.mark.ferry_timeout(240)
def test_a_node_stopped_past_the_election_timeout_and_resumed_loses_nothing(cluster):
    load = start_load(cluster)
    time.sleep(2)
    leader = cluster.leader_of(QUEUE)
    cluster.signal(leader, signal.SIGSTOP)
    stopped_at = time.monotonic()
    try:
        new_leader = cluster.leader_of(QUEUE, not_node=leader)
        time.sleep(max(0.0, cs.ELECTION_SECONDS * 2 - (time.monotonic() - stopped_at)))
        served_while_stopped = load.acknowledged_between(stopped_at, time.monotonic())
    finally:
        cluster.signal(leader, signal.SIGCONT)
    stopped_for = time.monotonic() - stopped_at
    time.sleep(3)
    load.finish(cluster.endpoints)
    print(f"stopped leader {leader} for {stopped_for:.1f}s; node {new_leader} led meanwhile; "
          f"{served_while_stopped} sends acknowledged meanwhile")
    load.check(f"SIGSTOP of leader {leader}")
    assert served_while_stopped > 0, "nothing was acknowledged while the old leader was stopped"


@pytest.mark.ferry_timeout(240)
def test_all_nodes_restarted_at_once_lose_nothing(cluster):
    load = start_load(cluster)
    time.sleep(2)
    for node in (1, 2, 3):
        cluster.signal(node, signal.SIGKILL)
    for node in (1, 2, 3):
        cs.wait_dead(cluster.pid(node))
    cluster.up()
    time.sleep(2)
    load.finish(cluster.endpoints)
    load.check("kill -9 of all three nodes, then restart")


def _queue_pair_on_two_shards(shards):
    """A source queue name and a dead-letter queue name homed on different shards."""
    source = "billing"
    home = cs.shard_of(source, shards)
    dead = next(f"billing-dlq-{i}" for i in range(100) if cs.shard_of(f"billing-dlq-{i}", shards) != home)
    return source, dead


def _available(sqs, url):
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


@pytest.mark.ferry_timeout(240)
def test_a_dead_letter_queue_on_another_shard_survives_a_leader_kill_both_ways(cluster):
    """Redrive to a dead-letter queue on another shard, and a move task back, while the shard leader
    doing the transfer is killed: every message arrives, none twice."""
    source, dead = _queue_pair_on_two_shards(cluster.shards)
    clients = {node: fs.make_sqs_client(cluster.endpoint(node)) for node in (1, 2, 3)}
    dead_url = clients[1].create_queue(QueueName=dead)["QueueUrl"]
    policy = json.dumps({"deadLetterTargetArn": fs.expected_arn(dead), "maxReceiveCount": 1})
    source_url = clients[2].create_queue(QueueName=source, Attributes={"RedrivePolicy": policy})["QueueUrl"]
    listed = clients[3].list_dead_letter_source_queues(QueueUrl=dead_url)["queueUrls"]
    assert [url.rsplit("/", 1)[1] for url in listed] == [source]

    sent = set()
    for batch in range(20):
        entries = [{"Id": str(i), "MessageBody": f"invoice {batch}-{i}"} for i in range(10)]
        reply = clients[1 + batch % 3].send_message_batch(QueueUrl=source_url, Entries=entries)
        assert not reply.get("Failed")
        sent |= {entry["MessageId"] for entry in reply["Successful"]}
    received_once = fs.receive_all(clients[1], source_url, len(sent), timeout=60, VisibilityTimeout=0)
    assert {m["MessageId"] for m in received_once} == sent

    # The source shard's leader carries messages to the other shard: kill it while receives redrive them.
    leader = cluster.leader_of(source)
    survivors = [node for node in (1, 2, 3) if node != leader]
    cluster.kill9(leader)
    deadline = time.monotonic() + 90
    while _available(clients[survivors[0]], dead_url) < len(sent) and time.monotonic() < deadline:
        reply = clients[survivors[1]].receive_message(
            QueueUrl=source_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=1)
        assert not reply.get("Messages"), "a message was received past maxReceiveCount"
    cluster.up(only=leader)
    in_dead = _available(clients[survivors[0]], dead_url)
    print(f"killed source shard leader {leader}; {in_dead} of {len(sent)} messages in the dead-letter queue")
    assert in_dead == len(sent)

    # And back: a move task on the dead-letter queue's shard, whose leader is killed mid-move.
    task = clients[1].start_message_move_task(SourceArn=fs.expected_arn(dead), MaxNumberOfMessagesPerSecond=50)
    assert task["TaskHandle"]
    time.sleep(1)
    dead_leader = cluster.leader_of(dead)
    cluster.kill9(dead_leader)
    reader = next(node for node in (1, 2, 3) if node != dead_leader)
    back = fs.receive_all(clients[reader], source_url, len(sent), timeout=120, VisibilityTimeout=120)
    cluster.up(only=dead_leader)
    ids = [m["MessageId"] for m in back]
    lost = len(sent - set(ids))
    unexpected = len(set(ids) - sent)
    duplicated = len(ids) - len(set(ids))
    print(f"moved back with dead-letter shard leader {dead_leader} killed: lost {lost}, unexpected {unexpected}, "
          f"duplicated {duplicated}")
    assert lost == 0 and unexpected == 0


@pytest.mark.ferry_timeout(300)
def test_five_nodes_with_three_replicas_serve_through_any_node_and_survive_a_leader_kill():
    """Two of the five nodes hold no replica of the queue's shard: they pass requests to nodes that do."""
    c = cs.LoopbackCluster(nodes=5, shards=4, replication_factor=3)
    try:
        print(c.up())
        hosts = cs.replicas_of(cs.shard_of(QUEUE, c.shards), list(range(1, 6)), 3)
        outsiders = [node for node in range(1, 6) if node not in hosts]
        assert len(outsiders) == 2
        sqs = fs.make_sqs_client(c.endpoint(outsiders[0]))
        url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        for node in range(1, 6):
            listed = fs.make_sqs_client(c.endpoint(node)).list_queues().get("QueueUrls", [])
            assert [u.rsplit("/", 1)[1] for u in listed] == [QUEUE], f"ListQueues via node {node}"
        # Producers and consumers start on the two nodes without the shard, then the others.
        endpoints = [c.endpoint(node) for node in outsiders + hosts]
        load = cs.Load(endpoints, url[url.index("/", len("http://")):]).start()
        time.sleep(2)
        leader = c.leader_of(QUEUE)
        assert leader in hosts
        c.kill9(leader)
        killed_at = time.monotonic()
        c.leader_of(QUEUE, not_node=leader)
        time.sleep(3)
        served_without_it = load.acknowledged_between(killed_at, time.monotonic())
        c.up(only=leader)
        time.sleep(2)
        load.finish(endpoints)
        print(f"5 nodes, replicas of the queue's shard on {hosts}; killed leader {leader}; "
              f"{served_without_it} sends acknowledged meanwhile")
        load.check(f"5 nodes / 3 replicas, kill -9 of leader {leader}")
        assert served_without_it > 0
    finally:
        c.down()
        shutil.rmtree(c.dir, ignore_errors=True)


# --------------------------------------------------------------------------- partition (network namespaces)


def _ip(*args, check=True):
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check, timeout=20)


def _netns_usable():
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"ferryprobe{os.getpid() % 100000}"
    ok = _ip("netns", "add", name, check=False).returncode == 0
    if ok:
        _ip("netns", "del", name, check=False)
    return ok


class NamespaceCluster:
    """Three nodes, each in its own network namespace on a bridge: 10.77.N.1..3, the test at .254."""

    def __init__(self):
        self.binary = fs.resolve_ferry_bin()
        self.tag = os.getpid() % 10000
        self.subnet = f"10.{77 + self.tag % 100}.{self.tag // 100 % 250}"
        self.bridge = f"fbr{self.tag}"
        self.dir = os.path.abspath(__import__("tempfile").mkdtemp(prefix="ferry-netns-"))
        self.procs = {}

    def address(self, node):
        return f"{self.subnet}.{node}"

    def endpoint(self, node):
        return f"http://{self.address(node)}:9324"

    def host_link(self, node):
        return f"fv{self.tag}h{node}"

    def namespace(self, node):
        return f"ferry{self.tag}n{node}"

    def setup(self):
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.subnet}.254/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for node in (1, 2, 3):
            ns, host, inner = self.namespace(node), self.host_link(node), f"fv{self.tag}n{node}"
            _ip("netns", "add", ns)
            _ip("link", "add", host, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", ns)
            _ip("link", "set", host, "master", self.bridge)
            _ip("link", "set", host, "up")
            _ip("netns", "exec", ns, "ip", "addr", "add", f"{self.address(node)}/24", "dev", inner)
            _ip("netns", "exec", ns, "ip", "link", "set", inner, "up")
            _ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
        certs = os.path.join(self.dir, "certs")
        subprocess.run([self.binary, "certs", "--dir", certs, "--nodes", "3", "--host", self.subnet + ".1"],
                       check=True, capture_output=True, timeout=60)
        nodes = ",".join(f'"{n}": "{self.address(n)}:9700"' for n in (1, 2, 3))
        for node in (1, 2, 3):
            with open(os.path.join(self.dir, f"node-{node}.json"), "w") as f:
                f.write(
                    f'{{"cluster_name": "netns", "node_id": {node}, "nodes": {{{nodes}}}, '
                    f'"data_dir": "{self.dir}/node-{node}", "host": "{self.address(node)}", "port": 9324, '
                    f'"shards": 4, "tls_ca": "{certs}/ca.pem", "tls_cert": "{certs}/node-{node}.pem", '
                    f'"tls_key": "{certs}/node-{node}-key.pem", "cluster_key": "{certs}/cluster.key"}}')
        for node in (1, 2, 3):
            log = open(os.path.join(self.dir, f"node-{node}.log"), "w")
            self.procs[node] = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace(node), self.binary, "serve", "--config",
                 os.path.join(self.dir, f"node-{node}.json"), "--credentials", fs.CREDENTIALS_ARG],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        for node in (1, 2, 3):
            sqs = fs.make_sqs_client(self.endpoint(node), connect_timeout=1, read_timeout=5)
            while True:
                try:
                    sqs.list_queues()
                    break
                except Exception:
                    assert time.monotonic() < deadline, f"node {node} does not serve:\n{self.logs()}"
                    time.sleep(0.2)

    def log_paths(self):
        return [os.path.join(self.dir, f"node-{n}.log") for n in (1, 2, 3)]

    def logs(self):
        return "\n".join(open(p, errors="replace").read()[-3000:] for p in self.log_paths() if os.path.exists(p))

    def teardown(self):
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for node in (1, 2, 3):
            _ip("link", "del", self.host_link(node), check=False)
            _ip("netns", "del", self.namespace(node), check=False)
        _ip("link", "del", self.bridge, check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.mark.ferry_timeout(240)
@pytest.mark.skipif(not _netns_usable(), reason="needs root and network namespaces (ip netns) for a real partition")
def test_a_partition_that_isolates_the_leader_loses_nothing():
    cluster = NamespaceCluster()
    try:
        cluster.setup()
        sqs = fs.make_sqs_client(cluster.endpoint(1))
        url = sqs.create_queue(QueueName=QUEUE)["QueueUrl"]
        path = url[url.index("/", len("http://")):]
        endpoints = [cluster.endpoint(n) for n in (1, 2, 3)]
        load = cs.Load(endpoints, path).start()
        time.sleep(2)
        shard = cs.shard_of(QUEUE, 4)
        leader = cs.wait_for_leader(cluster.log_paths(), shard)
        _ip("link", "set", cluster.host_link(leader), "down")  # the leader hears nobody, nobody hears it
        cut_at = time.monotonic()
        try:
            new_leader = cs.wait_for_leader(cluster.log_paths(), shard, not_node=leader)
            time.sleep(3)
            served_during = load.acknowledged_between(cut_at, time.monotonic())
        finally:
            _ip("link", "set", cluster.host_link(leader), "up")
        cut_for = time.monotonic() - cut_at
        time.sleep(3)
        survivors = [cluster.endpoint(n) for n in (1, 2, 3) if n != leader]
        load.finish(survivors)
        print(f"isolated leader {leader} for {cut_for:.1f}s; node {new_leader} led meanwhile; "
              f"{served_during} sends acknowledged meanwhile")
        load.check(f"partition isolating leader {leader}")
        assert served_during > 0, "the majority side acknowledged nothing during the partition"
    finally:
        cluster.teardown()
