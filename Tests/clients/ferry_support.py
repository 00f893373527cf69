"""Shared helpers for Ferry's real-client test suite (imported by conftest and tests).

Everything here talks only to 127.0.0.1 and every network wait is bounded.
"""

import contextlib
import datetime
import hashlib
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

import boto3
import pytest
import requests
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from botocore.utils import percent_encode_sequence

ACCESS_KEY = "AKIDFERRYTEST"
SECRET_KEY = "ferry-test-secret"
CREDENTIALS_ARG = f"{ACCESS_KEY}:{SECRET_KEY}"
REGION = "us-east-1"
ACCOUNT_ID = "000000000000"
XML_NS = "http://queue.amazonaws.com/doc/2012-11-05/"
JSON_CT = "application/x-amz-json-1.0"
FORM_CT = "application/x-www-form-urlencoded; charset=utf-8"

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))

# (connect, read) timeouts for raw HTTP; read must exceed the longest long poll.
HTTP_TIMEOUT = (5, 40)
STARTUP_TIMEOUT = 30
SHUTDOWN_TIMEOUT = 10


# --------------------------------------------------------------------------- names


def unique_name(hint="q", fifo=False):
    hint = "".join(c if c.isalnum() or c in "-_" else "-" for c in hint)[:40]
    name = f"ft-{hint}-{uuid.uuid4().hex[:10]}"
    return name + ".fifo" if fifo else name


def queue_name(url):
    return url.rstrip("/").rsplit("/", 1)[1]


def queue_path(url):
    return urllib.parse.urlsplit(url).path


def expected_arn(name):
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


# --------------------------------------------------------------------------- MD5 rules


def md5_hex(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.md5(data).hexdigest()


def md5_of_attributes(attrs):
    """MD5OfMessageAttributes / MD5OfMessageSystemAttributes (boto3 dict shape).

    Values: {"DataType": ..., "StringValue": str} or {"DataType": ..., "BinaryValue": bytes|base64-str}.
    Returns None for no attributes (the field must then be omitted).
    """
    if not attrs:
        return None
    h = hashlib.md5()

    def field(b):
        h.update(struct.pack(">I", len(b)))
        h.update(b)

    for name in sorted(attrs):
        a = attrs[name]
        dt = a["DataType"]
        field(name.encode("utf-8"))
        field(dt.encode("utf-8"))
        if dt.startswith("Binary"):
            h.update(b"\x02")
            v = a["BinaryValue"]
            if isinstance(v, str):
                import base64

                v = base64.b64decode(v)
            field(v)
        else:
            h.update(b"\x01")
            field(a["StringValue"].encode("utf-8"))
    return h.hexdigest()


# --------------------------------------------------------------------------- errors


@contextlib.contextmanager
def client_error(code, status=None, query_code=None):
    """Expect a botocore ClientError with Error.Code == code (the x-amzn-query-error
    code when the server sends that header) and optionally HTTP status / the
    modeled shape name (QueryErrorCode, taken from __type)."""
    with pytest.raises(ClientError) as ei:
        yield ei
    err = ei.value.response.get("Error", {})
    meta = ei.value.response.get("ResponseMetadata", {})
    got = err.get("Code")
    if isinstance(code, (set, frozenset, tuple, list)):
        assert got in code, f"expected one of {code}, got {got!r}: {ei.value.response}"
    else:
        assert got == code, f"expected {code!r}, got {got!r}: {ei.value.response}"
    if status is not None:
        assert meta.get("HTTPStatusCode") == status, ei.value.response
    if query_code is not None:
        assert err.get("QueryErrorCode") == query_code, ei.value.response


def error_code(exc):
    return exc.response.get("Error", {}).get("Code")


# --------------------------------------------------------------------------- clients


def client_config(**kw):
    # botocore's retries.max_attempts counts *retries* (max_attempts=1 means two
    # tries); total_max_attempts=1 means exactly one try, so 5xx are never hidden.
    base = dict(
        region_name=REGION,
        retries={"total_max_attempts": 1, "mode": "standard"},
        connect_timeout=5,
        read_timeout=40,
    )
    base.update(kw)
    return Config(**base)


def make_sqs_client(endpoint, key=ACCESS_KEY, secret=SECRET_KEY, verify=None, **config):
    session = boto3.session.Session(
        aws_access_key_id=key, aws_secret_access_key=secret, region_name=REGION
    )
    kwargs = {"endpoint_url": endpoint, "config": client_config(**config)}
    if verify is not None:
        kwargs["verify"] = verify
    return session.client("sqs", **kwargs)


def cli_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_MAX_ATTEMPTS="1",
        AWS_RETRY_MODE="standard",
        AWS_PAGER="",
    )
    if extra:
        env.update(extra)
    return env


class AwsCliError(AssertionError):
    def __init__(self, cmd, returncode, stdout, stderr):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        super().__init__(
            f"aws CLI failed (rc={returncode}): {' '.join(cmd)}\nstdout: {stdout}\nstderr: {stderr}"
        )


def run_aws_cli(endpoint, args, ca_bundle=None, timeout=60):
    cmd = [sys.executable, "-m", "awscli", "sqs", *[str(a) for a in args]]
    cmd += ["--endpoint-url", endpoint, "--output", "json", "--region", REGION]
    cmd += ["--cli-connect-timeout", "5", "--cli-read-timeout", "40"]
    if ca_bundle:
        cmd += ["--ca-bundle", ca_bundle]
    try:
        r = subprocess.run(
            cmd, capture_output=True, timeout=timeout, env=cli_env(), stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as e:
        raise AwsCliError(cmd, "timeout", e.stdout, e.stderr) from None
    out, err = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
    if r.returncode != 0:
        raise AwsCliError(cmd, r.returncode, out, err)
    out = out.strip()
    return json.loads(out) if out else {}


# --------------------------------------------------------------------------- raw signed HTTP


class Resp(tuple):
    """(status, headers, parsed) with the raw body as .raw."""

    def __new__(cls, status, headers, parsed, raw):
        t = tuple.__new__(cls, (status, headers, parsed))
        t.raw = raw
        return t

    status = property(lambda s: s[0])
    headers = property(lambda s: s[1])
    parsed = property(lambda s: s[2])


@contextlib.contextmanager
def frozen_signing_time(dt):
    """Make botocore sign with timestamp dt (naive UTC datetime)."""
    import botocore.auth

    orig = botocore.auth.get_current_datetime
    botocore.auth.get_current_datetime = lambda *a, **k: dt
    try:
        yield
    finally:
        botocore.auth.get_current_datetime = orig


def signed_http(
    endpoint,
    method="POST",
    path="/",
    body=b"",
    headers=None,
    params=None,
    key=ACCESS_KEY,
    secret=SECRET_KEY,
    region=REGION,
    service="sqs",
    sign=True,
    presign_expires=None,
    time_offset=None,
    mutate=None,
    send_body=None,
    verify=True,
    stream_timeout=HTTP_TIMEOUT,
):
    """Build a request, sign it with SigV4 (botocore), send it with requests.

    Returns the requests.Response.  `mutate(prepared_headers)` may tamper with
    headers after signing.  `time_offset` (timedelta) signs with a skewed clock.
    """
    url = endpoint.rstrip("/") + path
    if params and presign_expires is None:
        # canonical encoding in the URL itself (%20, not '+'), signed from the URL
        url += "?" + percent_encode_sequence(params)
        params = None
    if isinstance(body, str):
        body = body.encode("utf-8")
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}), params=params)
    if sign:
        creds = Credentials(key, secret)
        if presign_expires is not None:
            signer = SigV4QueryAuth(creds, service, region, expires=presign_expires)
        else:
            signer = SigV4Auth(creds, service, region)
        if time_offset is not None:
            now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            with frozen_signing_time(now + time_offset):
                signer.add_auth(req)
        else:
            signer.add_auth(req)
    prepared = req.prepare()
    hdrs = {k: v for k, v in prepared.headers.items()}
    if mutate:
        mutate(hdrs)
    return requests.request(
        prepared.method,
        prepared.url,
        headers=hdrs,
        data=send_body if send_body is not None else (prepared.body or None),
        timeout=stream_timeout,
        allow_redirects=False,
        verify=verify,
    )


def percent_encode(value):
    return urllib.parse.quote(value, safe="-_.~")


def parse_xml(raw):
    try:
        return ET.fromstring(raw)
    except ET.ParseError:
        return None


def parse_json(raw):
    try:
        return json.loads(raw)
    except ValueError:
        return None


def query_request(endpoint, action, params=None, path="/", method="POST", **kw):
    """Send an AWS Query request (Action/Version + params) and parse the XML."""
    p = {"Action": action, "Version": "2012-11-05"}
    if params:
        p.update({k: str(v) for k, v in params.items()})
    if method == "GET":
        r = signed_http(endpoint, "GET", path, params=p, **kw)
    else:
        body = urllib.parse.urlencode(p, quote_via=urllib.parse.quote)
        headers = {"Content-Type": FORM_CT}
        headers.update(kw.pop("headers", None) or {})
        r = signed_http(endpoint, method, path, body=body, headers=headers, **kw)
    return Resp(r.status_code, r.headers, parse_xml(r.content), r.content)


def json_request(endpoint, action, payload=None, raw_body=None, target=None, headers=None, **kw):
    """Send an AWS JSON 1.0 request (X-Amz-Target: AmazonSQS.<action>; target=False omits it)."""
    if target is None:
        target = f"AmazonSQS.{action}"
    hdrs = {"Content-Type": JSON_CT, "X-Amz-Target": target}
    if headers:
        hdrs.update(headers)
    hdrs = {k: v for k, v in hdrs.items() if v is not None and v is not False}
    body = raw_body if raw_body is not None else json.dumps(payload if payload is not None else {})
    r = signed_http(endpoint, "POST", "/", body=body, headers=hdrs, **kw)
    return Resp(r.status_code, r.headers, parse_json(r.content), r.content)


def X(path):
    """'A/B' -> '{*}A/{*}B' (namespace-agnostic ElementTree path)."""
    return "/".join("{*}" + seg if seg not in (".", "..") else seg for seg in path.split("/"))


def xtext(elem, path):
    e = elem.find(X(path))
    return None if e is None else (e.text or "")


def local(tag):
    return tag.rsplit("}", 1)[-1]


def xml_error(root):
    """(Type, Code, Message) of an <ErrorResponse>."""
    assert root is not None, "error body is not XML"
    assert local(root.tag) == "ErrorResponse", ET.tostring(root)
    return xtext(root, "Error/Type"), xtext(root, "Error/Code"), xtext(root, "Error/Message")


def json_error_code(resp):
    """Error code as botocore would derive it: x-amzn-query-error code, else __type suffix."""
    hdr = resp.headers.get("x-amzn-query-error")
    if hdr and len(hdr.split(";")) == 2 and hdr.split(";")[0]:
        return hdr.split(";")[0]
    body = resp.parsed or {}
    t = body.get("__type", "")
    return t.rsplit("#", 1)[-1].split(":")[0]


# --------------------------------------------------------------------------- server process


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def resolve_ferry_bin():
    b = os.environ.get("FERRY_BIN")
    if b:
        if not os.path.isabs(b) and not os.path.exists(b):
            b = os.path.join(REPO_ROOT, b)
        return os.path.abspath(b)
    return os.path.join(REPO_ROOT, ".build", "debug", "ferry")


class FerryProcess:
    """A `ferry serve` child process on 127.0.0.1."""

    def __init__(self, extra_args=(), scheme="http", binary=None, data_dir=None, port=None):
        self.binary = binary or resolve_ferry_bin()
        self.port = port or free_port()
        # Every test server is durable (the real path), in its own throwaway directory unless given one.
        if data_dir is None and "--data-dir" not in extra_args and "--in-memory" not in extra_args:
            self._own_data_dir = tempfile.mkdtemp(prefix="ferry-data-")
            data_dir = self._own_data_dir
        else:
            self._own_data_dir = None
        self.data_dir = data_dir
        if data_dir is not None:
            extra_args = ("--data-dir", data_dir, *extra_args)
        self.scheme = scheme
        self.endpoint = f"{scheme}://127.0.0.1:{self.port}"
        self.cmd = [
            self.binary, "serve", "--host", "127.0.0.1", "--port", str(self.port),
            "--credentials", CREDENTIALS_ARG, *extra_args,
        ]
        self.stdout_lines = []
        self.proc = None
        self._ready = threading.Event()
        self._stderr = tempfile.NamedTemporaryFile(prefix="ferry-stderr-", suffix=".log", delete=False)

    def start(self):
        if not os.path.isfile(self.binary) or not os.access(self.binary, os.X_OK):
            pytest.fail(
                f"ferry binary not found at {self.binary}: run `swift build` first, "
                "or set FERRY_BIN, or FERRY_ENDPOINT for an external server",
                pytrace=False,
            )
        self.proc = subprocess.Popen(
            self.cmd, stdout=subprocess.PIPE, stderr=self._stderr,
            stdin=subprocess.DEVNULL, cwd=REPO_ROOT,
        )
        threading.Thread(target=self._pump, daemon=True).start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self._ready.wait(0.1):
                return self
            if self.proc.poll() is not None:
                self._ready.wait(0.5)
                break
        rc = self.proc.poll()
        if rc is None:
            self.proc.kill()
            self.proc.wait(5)
        pytest.fail(
            f"ferry did not print 'listening on' within {STARTUP_TIMEOUT}s (exit={rc})\n"
            f"cmd: {' '.join(self.cmd)}\n{self.dump()}",
            pytrace=False,
        )

    def _pump(self):
        for line in iter(self.proc.stdout.readline, b""):
            text = line.decode("utf-8", "replace").rstrip("\n")
            self.stdout_lines.append(text)
            if "listening on" in text:
                self._ready.set()

    def stderr_size(self):
        try:
            return os.path.getsize(self._stderr.name)
        except OSError:
            return 0

    def stderr_text(self, tail=None, start=0):
        try:
            with open(self._stderr.name, "rb") as f:
                f.seek(start)
                data = f.read()
        except OSError:
            return ""
        if tail is not None:
            data = data[-tail:]
        return data.decode("utf-8", "replace")

    def dump(self, tail=20000):
        return (
            "---- ferry stdout ----\n" + "\n".join(self.stdout_lines[-200:])
            + "\n---- ferry stderr ----\n" + self.stderr_text(tail)
        )

    def stop(self):
        """SIGTERM, wait up to 10 s; returns the exit status (None if it had to be killed)."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                return None
        return self.proc.returncode

    def stop_and_check(self):
        already = self.proc is not None and self.proc.poll() is not None
        rc = self.stop()
        msg = (
            "ferry had already exited before shutdown" if already
            else "ferry did not exit within 10 s of SIGTERM" if rc is None
            else f"ferry exited with status {rc} after SIGTERM"
        )
        assert rc == 0 and not already, f"{msg} (expected clean exit 0)\n{self.dump()}"
        with contextlib.suppress(OSError):
            os.unlink(self._stderr.name)
        if self._own_data_dir:
            shutil.rmtree(self._own_data_dir, ignore_errors=True)

    def kill9(self):
        """SIGKILL: the process dies at once, mid-request, with no chance to flush anything."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def wait_until(fn, timeout=10.0, interval=0.2, desc="condition"):
    """Poll fn() until truthy (returns its value) or fail after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {desc} (last={last!r})")
        time.sleep(interval)


def receive_all(sqs, url, expected, timeout=10.0, **kw):
    """Receive until `expected` messages were collected (bounded)."""
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < expected and time.monotonic() < deadline:
        r = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=min(10, expected - len(got)), WaitTimeSeconds=1, **kw
        )
        got.extend(r.get("Messages", []))
    return got


def queue_attrs(sqs, url, *names):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(names) or ["All"]).get(
        "Attributes", {}
    )
