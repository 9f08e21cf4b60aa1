"""The SSRF guard (egress.py) and the webhook client (client.py): which URLs may be
registered and called, that a delivery connects only to the address checked then
(DNS rebinding), never follows a redirect, and that an attempt ends at its total
deadline however slowly the receiver drips. Real sockets on 127.0.0.1, no sleeps
in the tests themselves."""
import socket
import time
from pathlib import Path

import eventlet
import pytest

from services.notifications.client import Client
from services.notifications.egress import REFUSED_PRIVATE, Policy, UnsafeUrl, check, is_public
from services.notifications.webhooks import WebhookSender
from shared.config import settings
from shared.errors import InvalidInput

STRICT = Policy()
DEV = Policy(allow_http=True, ports=None)          # http, any port, still public only
LOCAL = Policy(allow_http=True, allow_private=True, ports=None)


def resolver(table):
    return lambda host, port: table[host]


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.0.10",
    "169.254.169.254", "169.254.0.1", "100.64.0.1", "100.127.255.254", "0.0.0.0", "224.0.0.1",
    "239.255.255.250", "240.0.0.1", "255.255.255.255", "198.18.0.1",
    "::1", "::", "fe80::1", "fe80::1%eth0", "fc00::1", "fd12:3456::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "64:ff9b::a9fe:a9fe", "2002:7f00:1::1",
])
def test_non_public_addresses_are_refused(address):
    assert not is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:93.184.216.34"])
def test_public_addresses_pass(address):
    assert is_public(address)


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://2130706433/", "http://0x7f.1/", "http://0x7f000001/", "http://017700000001/",
    "http://127.1/", "http://0/", "http://[::1]/", "http://[::ffff:7f00:1]/", "http://[::ffff:127.0.0.1]:8080/",
    "http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://100.64.0.1/", "http://10.0.0.1:443/",
])
def test_ip_literals_in_every_form_are_checked(url):
    with pytest.raises(UnsafeUrl, match="private"):
        check(url, DEV, resolver({}))   # never resolved: the literal is the address


@pytest.mark.parametrize("answers", [["127.0.0.1"], ["10.0.0.7"], ["93.184.216.34", "169.254.169.254"],
                                     ["fd00::1"], ["2606:4700:4700::1111", "::1"]])
def test_a_name_resolving_to_any_private_address_is_refused(answers):
    with pytest.raises(UnsafeUrl, match="private"):
        check("https://hooks.brand.example/in", STRICT, resolver({"hooks.brand.example": answers}))


def test_a_public_name_is_accepted_with_the_address_to_connect_to():
    target = check("https://hooks.brand.example:8443/in?x=1", STRICT,
                   resolver({"hooks.brand.example": ["93.184.216.34"]}))
    assert (target.address, target.host, target.port, target.path) == ("93.184.216.34", "hooks.brand.example",
                                                                        8443, "/in?x=1")
    assert target.host_header == "hooks.brand.example:8443"


@pytest.mark.parametrize("url, reason", [
    ("http://hooks.brand.example/", "https"), ("ftp://hooks.brand.example/", "https"),
    ("https://user:pw@hooks.brand.example/", "credentials"), ("https://user@hooks.brand.example/", "credentials"),
    ("https://hooks.brand.example:22/", "port"), ("https://hooks.brand.example:6379/", "port"),
    ("https://hooks.brand.example\\@127.0.0.1/", "backslash"), ("https://nowhere.example/", "resolve"),
])
def test_urls_refused_before_any_address_is_looked_at(url, reason):
    def resolve(host, port):
        if host == "nowhere.example":
            raise socket.gaierror("no such name")
        return ["93.184.216.34"]
    with pytest.raises(UnsafeUrl, match=reason):
        check(url, STRICT, resolve)


def test_local_runs_may_allow_http_and_private_addresses():
    assert check("http://127.0.0.1:9999/hook", LOCAL).address == "127.0.0.1"


def test_registration_refuses_with_a_400_naming_url():
    sender = WebhookSender()
    sender.policy, sender.client = STRICT, Client(1, STRICT)
    with pytest.raises(InvalidInput) as refused:
        sender.check_url("https://169.254.169.254/latest/meta-data/")
    assert refused.value.http_status == 400 and set(refused.value.errors) == {"url"}


def test_settings_default_to_the_strict_policy():
    egress = settings().replace().webhook_egress
    assert set(egress) == {"allow_http", "allow_private", "ports", "concurrency"}
    from shared.variables import webhook_egress
    from shared.config import VARIABLES
    defaults = webhook_egress(lambda name: next(v.default for v in VARIABLES if v.name == name))
    assert defaults == {"allow_http": False, "allow_private": False, "ports": frozenset({443, 8443}),
                        "concurrency": 4}


# --- delivery against real sockets -------------------------------------------------

class Server:
    """A raw HTTP server on 127.0.0.1 in a greenthread: ``answer(conn, request)``
    writes the response; every request (its head) is kept."""

    def __init__(self, answer):
        self.sock = eventlet.listen(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.answer, self.requests = answer, []
        self.thread = eventlet.spawn(self._serve)

    def _serve(self):
        while True:
            conn, _ = self.sock.accept()
            eventlet.spawn(self._one, conn)

    def _one(self, conn):
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        self.requests.append(data.split(b"\r\n\r\n")[0].decode())
        try:
            self.answer(conn, self.requests[-1])
        except OSError:
            pass
        conn.close()

    def close(self):
        self.thread.kill()
        self.sock.close()


@pytest.fixture
def serve():
    servers = []
    yield lambda answer: servers.append(Server(answer)) or servers[-1]
    for s in servers:
        s.close()


def ok(conn, request):
    conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")


def test_delivery_connects_to_the_checked_address_with_the_original_host(serve):
    server = serve(ok)
    client = Client(2, LOCAL, resolve=resolver({"hooks.brand.example": ["127.0.0.1"]}))
    assert client.post(f"http://hooks.brand.example:{server.port}/in", {"x-test": "1"}, b"{}") == (True, "http_204")
    assert f"host: hooks.brand.example:{server.port}" in server.requests[0].lower()
    assert server.requests[0].startswith("POST /in HTTP/1.1")


def test_a_name_that_rebinds_to_a_private_address_is_not_reached(serve):
    server = serve(ok)
    answers = {"hooks.brand.example": ["93.184.216.34"]}
    public_only = Policy(allow_http=True, ports=None)
    client = Client(2, public_only, resolve=lambda host, port: answers[host])
    url = f"http://hooks.brand.example:{server.port}/in"
    check(url, public_only, client.resolve)                    # registration: public
    answers["hooks.brand.example"] = ["127.0.0.1"]             # the name now points inside
    assert client.post(url, {}, b"{}") == (False, REFUSED_PRIVATE)
    assert server.requests == []


def test_a_refusal_reads_the_same_whatever_the_port():
    client = Client(2, Policy(allow_http=True, ports=None))
    outcomes = {client.post(f"http://127.0.0.1:{port}/", {}, b"{}") for port in (22, 80, 6379, 27017)}
    assert outcomes == {(False, REFUSED_PRIVATE)}


def test_redirects_are_not_followed(serve):
    target = serve(ok)
    redirecting = serve(lambda conn, request: conn.sendall(
        f"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://127.0.0.1:{target.port}/x\r\n"
        "Content-Length: 0\r\n\r\n".encode()))
    assert Client(2, LOCAL).post(f"http://127.0.0.1:{redirecting.port}/", {}, b"{}") == (False, "http_307")
    assert target.requests == []


def drip(every):
    def answer(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n")
        while True:                      # never finishes the headers: one byte per interval
            eventlet.sleep(every)
            conn.sendall(b"x")
    return answer


def body_drip(every):
    def answer(conn, request):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        while True:
            eventlet.sleep(every)
            conn.sendall(b"x")
    return answer


@pytest.mark.parametrize("answer", [drip, body_drip], ids=["headers", "body"])
def test_a_dripping_receiver_is_cut_at_the_total_deadline(serve, answer):
    """Each byte comes well within the deadline, so a per-read timeout would wait for
    ever; the attempt ends when its total time is spent."""
    server = serve(answer(0.05))
    client = Client(0.5, LOCAL)
    started = time.monotonic()
    assert client.post(f"http://127.0.0.1:{server.port}/", {}, b"{}") == (False, "timeout")
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 0.8, elapsed


def test_an_unanswered_connection_is_cut_at_the_deadline(serve):
    server = serve(lambda conn, request: eventlet.sleep(30))
    started = time.monotonic()
    assert Client(0.3, LOCAL).post(f"http://127.0.0.1:{server.port}/", {}, b"{}") == (False, "timeout")
    assert time.monotonic() - started < 0.6


def test_a_closed_port_is_a_connection_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]     # bound, not listening: connections are refused
        assert Client(1, LOCAL).post(f"http://127.0.0.1:{port}/", {}, b"{}") == (False, "connection_error")


def test_a_resolver_that_hangs_is_within_the_deadline():
    def hanging(host, port):
        eventlet.sleep(30)
    started = time.monotonic()
    assert Client(0.3, LOCAL, resolve=hanging).post("http://hooks.brand.example/", {}, b"{}") == (False, "timeout")
    assert time.monotonic() - started < 0.6


def test_a_connection_cut_mid_answer_is_not_reused(serve):
    calls = []

    def slow_body_then_ok(conn, request):
        calls.append(request)
        if len(calls) == 1:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nx")
            eventlet.sleep(30)
        ok(conn, request)
    server = serve(slow_body_then_ok)
    client = Client(0.3, LOCAL)
    url = f"http://127.0.0.1:{server.port}/"
    assert client.post(url, {}, b"{}") == (False, "timeout")
    assert client.post(url, {}, b"{}") == (True, "http_204")   # a fresh connection, not the half-read one


# --- https: connected to the checked address, verified for the URL's host ---------

def certificate(tmp_path, name):
    """A CA and a server certificate for ``name`` signed by it (files: ca.pem, server.pem, key.pem)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def build(subject, issuer, key, sign_key, ca, san=None):
        now = dt.datetime.now(dt.timezone.utc)
        b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
             .not_valid_after(now + dt.timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if san:
            b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName(san)]), critical=False)
        return b.sign(sign_key, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test ca")])
    ca = build(ca_name, ca_name, ca_key, ca_key, True)
    server = build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]), ca_name, key, ca_key, False, name)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(server.public_bytes(pem))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return tmp_path


# The TLS side runs in a process of its own: pytest imports ssl before tests/conftest.py
# patches it, and urllib3's SSL context then recurses; the services patch first.
HTTPS_CHECK = r"""
import eventlet; eventlet.monkey_patch()
import json, ssl, sys
from pathlib import Path
from services.notifications.client import Client
from services.notifications.egress import Policy
files, names, heads = Path(sys.argv[1]), [], []
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(files / "server.pem", files / "key.pem")
context.sni_callback = lambda sock, name, ctx: names.append(name)
listener = eventlet.listen(("127.0.0.1", 0))
port = listener.getsockname()[1]
def serve():
    while True:
        conn, _ = listener.accept()
        try:
            conn = context.wrap_socket(conn, server_side=True)
            data = b""
            while not data.endswith(b"{}"):     # the whole request: closing on unread data resets
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            heads.append(data.decode().split("\r\n\r\n")[0])
            conn.sendall(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        except (OSError, ssl.SSLError):
            pass
        conn.close()
eventlet.spawn(serve)
client = Client(2, Policy(allow_private=True, ports=None), resolve=lambda host, port: ["127.0.0.1"],
                ca_certs=str(files / "ca.pem"))
outcome = client.post(f"https://hooks.brand.example:{port}/in", {}, b"{}")
print(json.dumps({"outcome": outcome, "names": names, "heads": heads, "port": port}))
"""


def https_post(files):
    import json
    import subprocess
    import sys
    done = subprocess.run([sys.executable, "-c", HTTPS_CHECK, str(files)], capture_output=True, text=True,
                          timeout=30, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_https_goes_to_the_checked_address_and_verifies_the_url_s_host(tmp_path):
    seen = https_post(certificate(tmp_path, "hooks.brand.example"))
    assert seen["outcome"] == [True, "http_204"]
    assert seen["names"] == ["hooks.brand.example"]                  # SNI: the URL's host, not the address
    assert f"host: hooks.brand.example:{seen['port']}" in seen["heads"][0].lower()


def test_https_refuses_a_certificate_for_another_name(tmp_path):
    seen = https_post(certificate(tmp_path, "other.example"))
    assert seen["outcome"] == [False, "tls_error"] and seen["heads"] == []
