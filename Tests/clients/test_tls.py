"""TLS: a second `ferry serve --tls-cert --tls-key` with a throwaway CA (cryptography)."""

import datetime
import json
import ipaddress
import os
import socket
import ssl
import subprocess

import pytest
import requests
from botocore.exceptions import SSLError as BotoSSLError
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import ferry_support as fs


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ferry tests")])


def make_pki(directory):
    """CA + server certificate for 127.0.0.1/localhost; returns (ca, cert, key) PEM paths."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Ferry Test CA")).issuer_name(_name("Ferry Test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("127.0.0.1")).issuer_name(ca_cert.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=True, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=False, crl_sign=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = {n: os.path.join(directory, n) for n in ("ca.pem", "server.pem", "server-key.pem")}
    with open(paths["ca.pem"], "wb") as f:
        f.write(ca_cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["server.pem"], "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(paths["server-key.pem"], "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return paths["ca.pem"], paths["server.pem"], paths["server-key.pem"]


@pytest.fixture(scope="module")
def tls_server(external_server, start_ferry, tmp_path_factory):
    if external_server:
        pytest.skip("FERRY_ENDPOINT is set: TLS needs a ferry process started by the suite")
    ca, cert, key = make_pki(str(tmp_path_factory.mktemp("pki")))
    proc = start_ferry(["--tls-cert", cert, "--tls-key", key], scheme="https")
    return proc.endpoint, ca


def test_tls_boto3(tls_server):
    endpoint, ca = tls_server
    sqs = fs.make_sqs_client(endpoint, verify=ca)
    name = fs.unique_name("tls")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    try:
        assert url == f"{endpoint}/{fs.ACCOUNT_ID}/{name}"
        sent = sqs.send_message(QueueUrl=url, MessageBody="over tls")
        assert sent["MD5OfMessageBody"] == fs.md5_hex("over tls")
        got = fs.receive_all(sqs, url, 1)
        assert [m["Body"] for m in got] == ["over tls"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_tls_aws_cli(tls_server):
    endpoint, ca = tls_server
    name = fs.unique_name("tls-cli")
    url = fs.run_aws_cli(endpoint, ["create-queue", "--queue-name", name], ca_bundle=ca)["QueueUrl"]
    try:
        assert url.startswith("https://127.0.0.1:")
        out = fs.run_aws_cli(endpoint, ["send-message", "--queue-url", url, "--message-body", "cli tls"],
                             ca_bundle=ca)
        assert out["MD5OfMessageBody"] == fs.md5_hex("cli tls")
        r = fs.run_aws_cli(endpoint, ["receive-message", "--queue-url", url, "--wait-time-seconds", "2"],
                           ca_bundle=ca)
        assert [m["Body"] for m in r["Messages"]] == ["cli tls"]
    finally:
        fs.run_aws_cli(endpoint, ["delete-queue", "--queue-url", url], ca_bundle=ca)


def test_tls_raw_signed_query(tls_server):
    endpoint, ca = tls_server
    r = fs.query_request(endpoint, "ListQueues", {}, verify=ca)
    assert r.status == 200 and fs.local(r.parsed.tag) == "ListQueuesResponse"


def test_tls_untrusted_client_fails(tls_server):
    endpoint, _ = tls_server
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(endpoint + "/", timeout=fs.HTTP_TIMEOUT)
    sqs = fs.make_sqs_client(endpoint)  # default trust store: no test CA
    with pytest.raises(BotoSSLError):
        sqs.list_queues()
    ctx = ssl.create_default_context()
    port = int(endpoint.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with pytest.raises(ssl.SSLCertVerificationError):
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                pass


def test_tls_plain_http_is_not_served(tls_server):
    endpoint, _ = tls_server
    plain = endpoint.replace("https://", "http://")
    try:
        r = requests.post(plain + "/", data=b"Action=ListQueues", timeout=(5, 10))
    except requests.RequestException:
        return  # connection closed / reset: fine
    assert r.status_code >= 400


def test_tls_ferry_bench(tls_server):
    """`ferry bench` over HTTPS, trusting the test CA with --ca-bundle: every acknowledged message comes back."""
    endpoint, ca = tls_server
    env = dict(os.environ, AWS_ACCESS_KEY_ID=fs.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=fs.SECRET_KEY)
    out = subprocess.run(
        [fs.resolve_ferry_bin(), "bench", "--endpoint", endpoint, "--ca-bundle", ca, "--messages", "500",
         "--producers", "2", "--consumers", "2", "--drain-timeout", "5", "--json"],
        env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["sent"] == 500 and report["lost"] == 0, report
    assert report["errors"] == {}, report
    untrusted = subprocess.run(
        [fs.resolve_ferry_bin(), "bench", "--endpoint", endpoint, "--messages", "10", "--json"],
        env=env, capture_output=True, text=True, timeout=120)
    assert untrusted.returncode != 0
