"""Fixtures for Ferry's real-client tests (boto3, AWS CLI v1, raw Query/JSON).

Run from the repo root (after `swift build`):

    python3 -m pytest Tests/clients                 # starts .build/debug/ferry itself
    FERRY_BIN=/path/to/ferry python3 -m pytest Tests/clients
    FERRY_ENDPOINT=http://127.0.0.1:9324 python3 -m pytest Tests/clients   # external server
    FERRY_FUZZ_SEED=123 FERRY_FUZZ_COUNT=2000 python3 -m pytest Tests/clients/test_fuzz.py

Without FERRY_ENDPOINT the binary is started as
`ferry serve --host 127.0.0.1 --port PORT --credentials AKIDFERRYTEST:ferry-test-secret`
on a free port; the suite waits (max 30 s) for a stdout line containing
"listening on", and at the end sends SIGTERM and requires exit status 0 within 10 s.
A failing test gets the server's stderr written during that test appended.
"""

import contextlib
import os
import signal

import pytest
from botocore.exceptions import ClientError

import ferry_support as fs


# --------------------------------------------------------------------------- per-test timeout
# No pytest-timeout plugin here: a SIGALRM bound per test phase (ini
# `ferry_test_timeout`, marker `ferry_timeout(seconds)`), on top of bounded
# waits everywhere (HTTP timeouts, subprocess timeouts, polling deadlines).


class FerryTestTimeout(Exception):
    pass


def pytest_addoption(parser):
    parser.addini("ferry_test_timeout", "per-test-phase timeout in seconds", default="60")


def pytest_configure(config):
    config.addinivalue_line("markers", "ferry_timeout(seconds): per-test timeout override")
    config._ferry_proc = None


@contextlib.contextmanager
def _alarm(item, phase):
    limit = float(item.config.getini("ferry_test_timeout") or 0)
    m = item.get_closest_marker("ferry_timeout")
    if m and m.args:
        limit = float(m.args[0])
    if limit <= 0 or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise FerryTestTimeout(f"{phase} of {item.nodeid} exceeded {limit:.0f}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _stderr_size(config):
    proc = getattr(config, "_ferry_proc", None)
    return proc.stderr_size() if proc is not None else 0


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    item._ferry_stderr_offset = _stderr_size(item.config)
    with _alarm(item, "setup"):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    with _alarm(item, "call"):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    with _alarm(item, "teardown"):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    proc = getattr(item.config, "_ferry_proc", None)
    if rep.failed and proc is not None:
        # only what the server wrote to stderr during this test (last 6000 bytes of it)
        text = proc.stderr_text(start=getattr(item, "_ferry_stderr_offset", 0), tail=6000)
        rep.sections.append(("ferry stderr during this test", text or "(nothing)"))


# --------------------------------------------------------------------------- server


@pytest.fixture(scope="session")
def ferry_endpoint(request):
    external = os.environ.get("FERRY_ENDPOINT")
    if external:
        yield external.rstrip("/")
        return
    proc = fs.FerryProcess()
    proc.start()
    request.config._ferry_proc = proc
    try:
        yield proc.endpoint
    finally:
        request.config._ferry_proc = None
        proc.stop_and_check()


@pytest.fixture(scope="session")
def endpoint(ferry_endpoint):
    return ferry_endpoint


@pytest.fixture(scope="session")
def external_server():
    return bool(os.environ.get("FERRY_ENDPOINT"))


@pytest.fixture(scope="module")
def start_ferry(external_server):
    """Factory for extra `ferry serve` processes (e.g. TLS); stopped and checked at the end."""
    procs = []

    def start(extra_args=(), scheme="http"):
        p = fs.FerryProcess(extra_args=extra_args, scheme=scheme)
        procs.append(p)
        return p.start()

    yield start
    errors = []
    for p in procs:
        try:
            p.stop_and_check()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, "\n".join(errors)


# --------------------------------------------------------------------------- clients


@pytest.fixture(scope="session")
def sqs(endpoint):
    return fs.make_sqs_client(endpoint)


@pytest.fixture(scope="session")
def sqs_unvalidated(endpoint):
    """boto3 client without client-side parameter validation (to reach server checks)."""
    return fs.make_sqs_client(endpoint, parameter_validation=False)


def _queue_factory(sqs, request, fifo_default):
    created = []

    def make(hint=None, attributes=None, tags=None, fifo=fifo_default, name=None):
        hint = hint or request.node.name.replace("test_", "")[:30]
        qname = name or fs.unique_name(hint, fifo=fifo)
        attrs = dict(attributes or {})
        if fifo:
            attrs.setdefault("FifoQueue", "true")
        kwargs = {"QueueName": qname}
        if attrs:
            kwargs["Attributes"] = attrs
        if tags:
            kwargs["tags"] = tags
        url = sqs.create_queue(**kwargs)["QueueUrl"]
        created.append(url)
        return url

    yield make
    for url in created:
        with contextlib.suppress(ClientError):
            sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def queue(sqs, request):
    """queue(hint=None, attributes=None, tags=None) -> QueueUrl of a new standard queue."""
    yield from _queue_factory(sqs, request, False)


@pytest.fixture
def fifo_queue(sqs, request):
    """fifo_queue(hint=None, attributes=None, tags=None) -> QueueUrl of a new FIFO queue."""
    yield from _queue_factory(sqs, request, True)


@pytest.fixture
def queue_arn(sqs):
    def arn(url):
        return fs.queue_attrs(sqs, url, "QueueArn")["QueueArn"]

    return arn


@pytest.fixture
def aws(endpoint):
    """aws('create-queue', '--queue-name', 'x') -> parsed JSON (raises AwsCliError)."""

    def run(*args, timeout=60):
        return fs.run_aws_cli(endpoint, args, timeout=timeout)

    return run


@pytest.fixture
def signed_query(endpoint):
    """signed_query(action, params, path='/', method='POST'|'GET', **signing) -> (status, headers, xml root)."""

    def send(action, params=None, path="/", method="POST", **kw):
        return fs.query_request(endpoint, action, params, path=path, method=method, **kw)

    return send


@pytest.fixture
def signed_json(endpoint):
    """signed_json(action, payload, raw_body=None, target=None, headers=None) -> (status, headers, json)."""

    def send(action, payload=None, **kw):
        return fs.json_request(endpoint, action, payload, **kw)

    return send


@pytest.fixture
def signed_http(endpoint):
    """Lower-level: signed_http(method, path, body, headers, params, ...) -> requests.Response."""

    def send(method="POST", path="/", **kw):
        return fs.signed_http(endpoint, method, path, **kw)

    return send
