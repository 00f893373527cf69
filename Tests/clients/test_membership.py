"""Membership changes of a running cluster: real `ferry serve` processes under boto3 load on several
queues grow from 3 to 5 nodes (`ferry cluster up --add`), lose an original node (`ferry cluster
remove-node`), then have a node killed with kill -9 and replaced (remove-node of the dead one, a fresh
node added). Throughout, nothing acknowledged is lost and nothing unexpected is received; afterwards
every shard (and the metadata group) has 3 replicas on live nodes, where consistent hashing of the final
node set puts them, and each step moved a number of replicas close to the minimum it needs."""

import math
import os
import shutil
import time

import pytest

import cluster_support as cs
import ferry_support as fs

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("FERRY_ENDPOINT")), reason="starts, grows and shrinks its own cluster"
)

SHARDS = 8
QUEUES = ["orders", "billing", "emails"]


def replica_sets(status):
    """Group id → set of voters, from `ferry cluster status --json`."""
    return {shard["id"]: set(shard["replicas"]) for shard in status["shards"]}


def wait_settled(cluster, active, timeout=240):
    """Waits until the configuration's active nodes are `active`, nothing moves, and every group's voters
    are where placement over `active` puts them, each group with a leader; returns the status."""
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        try:
            status = cluster.status()
        except AssertionError:
            time.sleep(1)
            continue
        nodes = sorted(n["id"] for n in status["nodes"] if n["state"] == "active")
        placed = all(
            set(shard["replicas"]) == set(cs.replicas_of(shard["id"], active, 3)) for shard in status["shards"])
        if (nodes == sorted(active) and status["moves_in_progress"] == 0 and status["replicas_to_move"] == 0
                and placed and all(shard["leader"] for shard in status["shards"])):
            return status
        time.sleep(1)
    raise AssertionError(f"not settled on {active} after {timeout}s: {status}\n{cluster.tail_logs()}")


def moved(before, after):
    """Replicas that moved between two statuses: nodes each group gained."""
    a, b = replica_sets(before), replica_sets(after)
    return sum(len(b[group] - a[group]) for group in b)


def minimum_moves(groups, replicas_each, nodes_after, nodes_gained, replicas_lost):
    """The fewest replicas a step can move: what new nodes must take for an even spread, or what a
    removed node held."""
    return max(math.ceil(groups * replicas_each * nodes_gained / nodes_after), replicas_lost)


@pytest.mark.ferry_timeout(900)
def test_grow_to_five_remove_one_and_replace_a_killed_node_under_load():
    cluster = cs.LoopbackCluster(nodes=3, shards=SHARDS, nodes_max=6)
    loads = []
    try:
        print(cluster.up())
        endpoints = [cluster.endpoint(n) for n in range(1, 7)]
        sqs = fs.make_sqs_client(cluster.endpoint(1))
        for name in QUEUES:
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            path = url[url.index("/", len("http://")):]
            loads.append(cs.Load(endpoints[:3], path, producers=1, consumers=1).start())
        groups = SHARDS + 1  # the shards and the metadata group
        start = wait_settled(cluster, [1, 2, 3])
        steps = []

        # Grow: two nodes join.
        began = time.monotonic()
        print(cluster.add(2))
        for load in loads:
            load.endpoints = endpoints[:5]
        grown = wait_settled(cluster, [1, 2, 3, 4, 5])
        steps.append(("add nodes 4 and 5", moved(start, grown), minimum_moves(groups, 3, 5, 2, 0),
                      time.monotonic() - began))

        # Shrink: node 1, an original node, drains and is removed.
        began = time.monotonic()
        held = sum(1 for replicas in replica_sets(grown).values() if 1 in replicas)
        r = cluster.cluster_command("remove-node", "--id", "1", "--wait", "--timeout", "240", timeout=260)
        assert r.returncode == 0, f"remove-node 1: {r.stdout}\n{r.stderr}\n{cluster.tail_logs()}"
        shrunk = wait_settled(cluster, [2, 3, 4, 5])
        assert {n["id"]: n["state"] for n in shrunk["nodes"]}[1] == "removed"
        steps.append(("remove node 1", moved(grown, shrunk), minimum_moves(groups, 3, 4, 0, held),
                      time.monotonic() - began))
        cluster.kill9(1)  # removed: it holds nothing; stop its process
        for load in loads:
            load.endpoints = endpoints[1:5]

        # Replace a dead node: node 2 is killed, removed while dead, and node 6 takes its place.
        began = time.monotonic()
        held = sum(1 for replicas in replica_sets(shrunk).values() if 2 in replicas)
        cluster.kill9(2)
        r = cluster.cluster_command("remove-node", "--id", "2", "--wait", "--timeout", "240", timeout=260)
        assert r.returncode == 0, f"remove-node 2 (dead): {r.stdout}\n{r.stderr}\n{cluster.tail_logs()}"
        without = wait_settled(cluster, [3, 4, 5])
        print(cluster.add(1))
        for load in loads:
            load.endpoints = endpoints[2:6]
        replaced = wait_settled(cluster, [3, 4, 5, 6])
        steps.append(("remove dead node 2", moved(shrunk, without), minimum_moves(groups, 3, 3, 0, held),
                      None))
        steps.append(("add node 6", moved(without, replaced), minimum_moves(groups, 3, 4, 1, 0),
                      time.monotonic() - began))

        # Node 3 restarts from its first config file, whose peers 1 and 2 are gone and whose metadata group
        # may have moved to nodes added later: it links and routes from the configuration it kept.
        cluster.restart(3)
        deadline = time.monotonic() + 60
        while True:
            status = cluster.status()
            node3 = next(n for n in status["nodes"] if n["id"] == 3)
            lagging = [s for s in status["shards"] if 3 in s["replicas"] and s.get("lag", {}).get("3") is None]
            if node3["reachable"] and not lagging and all(s["leader"] for s in status["shards"]):
                break
            assert time.monotonic() < deadline, f"node 3 did not rejoin after a restart: {status}\n{cluster.tail_logs()}"
            time.sleep(1)
        for step, count, minimum, seconds in steps:
            took = f" in {seconds:.0f}s" if seconds is not None else ""
            print(f"{step}: {count} replicas moved (minimum {minimum}){took}")
            assert count <= 2 * minimum, f"{step}: moved {count} replicas, minimum {minimum}"
        for shard in replaced["shards"]:
            assert len(shard["replicas"]) == 3, shard
            assert set(shard["replicas"]) <= {3, 4, 5, 6}, shard
        for index, load in enumerate(loads):
            load.finish([cluster.endpoint(3)])
            load.check(f"queue {QUEUES[index]} through grow, remove and replace", acknowledged_min=50)
    finally:
        for load in loads:
            load.stop_producing.set()
            load.stop_consuming.set()
        cluster.down()
        shutil.rmtree(cluster.dir, ignore_errors=True)
