"""`ferry chaos` end to end: a short run of real `ferry serve` processes under every fault kind that
works without root, its verdict, its JSON, and its HTML report opened in headless Chromium.

    FERRY_CHAOS_SECONDS=80 python3 -m pytest Tests/clients/test_chaos.py
"""

import json
import os
import re
import shutil
import subprocess

import pytest

import cluster_support as cs
import ferry_support as fs

KINDS = {"kill", "pause", "restart-loop", "partition", "clock", "disk"}
SECONDS = int(os.environ.get("FERRY_CHAOS_SECONDS", "80"))


def _run_chaos(arguments, timeout):
    """Runs `ferry chaos`; past `timeout` it gets SIGTERM (it stops its nodes and removes its namespaces),
    never SIGKILL first."""
    process = subprocess.Popen(arguments, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.terminate()
        out, err = process.communicate(timeout=30)
        raise AssertionError(f"ferry chaos ran past {timeout} s:\n{err[-3000:]}")
    return subprocess.CompletedProcess(arguments, process.returncode, out, err)


def _seed_with_every_kind(binary, tmp_path):
    """The first seed whose schedule for this duration holds every fault kind (the schedule is a
    function of the seed alone, so this is the same seed on every machine)."""
    for seed in range(1, 50):
        out = subprocess.run(
            [binary, "chaos", "--dir", str(tmp_path / "plan"), "--duration", str(SECONDS), "--seed", str(seed),
             "--dry-run"],
            capture_output=True, text=True, timeout=30, check=True).stdout
        if all(re.search(rf"\b{kind} \d", out.splitlines()[-1]) for kind in KINDS):
            return seed
    raise AssertionError("no seed below 50 schedules every fault kind")


@pytest.mark.ferry_timeout(600)
def test_a_short_run_under_every_fault_kind_is_valid_and_its_report_opens_in_chromium(tmp_path):
    binary = fs.resolve_ferry_bin()
    seed = _seed_with_every_kind(binary, tmp_path)
    sqs, peer = cs.free_port_block(3), cs.free_port_block(3)
    report = tmp_path / "report.html"
    run = _run_chaos(
        [binary, "chaos", "--nodes", "3", "--duration", str(SECONDS), "--seed", str(seed), "--faults", "all",
         "--dir", str(tmp_path / "run"), "--sqs-port", str(sqs), "--peer-port", str(peer), "--json",
         "--report", str(report), "--network", "proxy"],
        timeout=500)
    last = run.stderr.strip().splitlines()[-1]
    print(run.stderr[-4000:])
    assert run.returncode == 0, last
    assert last.startswith("chaos: VALID — acknowledged "), last
    result = json.loads(run.stdout)
    assert result["valid"] is True and result["seed"] == seed
    assert result["acknowledged"] > 500
    assert (result["lost"], result["unexpected"], result["mismatched"], result["fifo_violations"]) == (0, 0, 0, 0)
    assert {fault["kind"] for fault in result["faults"]} == KINDS
    for fault in result["faults"]:
        assert fault["end_ms"] > fault["start_ms"]
    # Every request and every fault is in the history.
    history = [json.loads(line) for line in open(result["history"], encoding="utf-8")]
    assert sum(1 for entry in history if entry["action"] == "fault") == len(result["faults"])
    assert sum(1 for entry in history if entry["action"] != "fault") == result["requests"]

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    assert chromium, "chromium is missing: scripts/setup --test installs it"
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", report.as_uri()],
        capture_output=True, text=True, timeout=120).stdout
    assert re.search(r'id="verdict"[^>]*>chaos: VALID', dom), dom[:2000]
    assert dom.count("<svg") == 3
    assert dom.count('class="fault"') == 2 * len(result["faults"])
    for node in (1, 2, 3):
        assert f"node {node}</text>" in dom


@pytest.mark.ferry_timeout(300)
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("ip"), reason="network namespaces need root and iproute2")
def test_partitions_in_network_namespaces_lose_nothing_and_leave_nothing_behind(tmp_path):
    binary = fs.resolve_ferry_bin()
    sqs, peer = cs.free_port_block(3), cs.free_port_block(3)
    run = _run_chaos(
        [binary, "chaos", "--nodes", "3", "--duration", "40", "--seed", "3", "--faults", "partition",
         "--network", "netns", "--dir", str(tmp_path / "run"), "--sqs-port", str(sqs), "--peer-port", str(peer),
         "--json"],
        timeout=230)
    print(run.stderr[-3000:])
    assert run.returncode == 0, run.stderr.strip().splitlines()[-1]
    assert "nodes in network namespaces" in run.stderr
    result = json.loads(run.stdout)
    assert result["valid"] is True and result["faults"]
    assert all(fault["kind"] == "partition" for fault in result["faults"])
    config = json.loads((tmp_path / "run" / "node-1.json").read_text())
    assert config["host"].startswith("10.213.")
    tag = re.search(r"namespaces (fc\d+)-n1", run.stderr).group(1)
    left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert tag + "-" not in left, left
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert tag + "-" not in links


def test_unknown_fault_kinds_and_a_cluster_directory_in_use_are_refused(tmp_path):
    binary = fs.resolve_ferry_bin()
    bad = subprocess.run([binary, "chaos", "--dir", str(tmp_path), "--faults", "kill,flood"],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "unknown fault 'flood'" in bad.stderr
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "node-1.json").write_text("{}")
    used = subprocess.run([binary, "chaos", "--dir", str(tmp_path / "used"), "--faults", "kill"],
                          capture_output=True, text=True, timeout=30)
    assert used.returncode != 0 and "already holds a cluster" in used.stderr
    unsynced = subprocess.run([binary, "chaos", "--dir", str(tmp_path / "new"), "--faults", "disk", "--fsync", "batch"],
                              capture_output=True, text=True, timeout=30)
    assert unsynced.returncode != 0 and "needs --fsync always" in unsynced.stderr
