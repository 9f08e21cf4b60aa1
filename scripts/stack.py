"""Start and stop the local system: RabbitMQ (if down), the embedded Mongo server
(nx-27017) and the services as separate processes.

Used by ``scripts/run-local.sh`` (the demo), the integration tests and the bench, so
the three run the system exactly the same way.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlparse

from shared import auth, broker_users
from shared.config import CHANNEL_VARIABLES, SECRETS, SERVICE_SECRETS

ROOT = Path(__file__).resolve().parent.parent
# One process each (shared/runner.py PROCESSES); the alert lane is its own process.
SERVICES = ("intake", "gateway", "remediation", "validation", "notifications", "notifications_alerts")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - reported on timeout
            last = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout}s (last error: {last!r})")


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


# --- RabbitMQ ---------------------------------------------------------------------

def ensure_rabbitmq(amqp_uri: str, timeout: float = 90) -> None:
    """Start the machine's RabbitMQ if it is local and not answering."""
    url = urlparse(amqp_uri)
    host, port = url.hostname or "127.0.0.1", url.port or 5672
    if _port_open(host, port):
        return
    if host not in ("127.0.0.1", "localhost") or not shutil.which("rabbitmq-server"):
        raise RuntimeError(f"RabbitMQ is not reachable at {host}:{port}")
    print("RabbitMQ not running: starting rabbitmq-server -detached", file=sys.stderr)
    subprocess.run(["rabbitmq-server", "-detached"], check=False)
    wait_for(lambda: _port_open(host, port), timeout, "RabbitMQ", interval=0.5)
    if shutil.which("rabbitmqctl"):   # the port opens before the broker accepts work
        subprocess.run(["rabbitmqctl", "await_startup"], check=False, capture_output=True, timeout=timeout)


def with_vhost(amqp_uri: str, vhost: str) -> str:
    url = urlparse(amqp_uri)
    return url._replace(path="/" + vhost).geturl()


def _rabbitmqctl(*args: str, stdin: bytes | None = None) -> None:
    subprocess.run(["rabbitmqctl", "-q", *args], input=stdin, check=True, capture_output=True, timeout=60)


def create_vhost(amqp_uri: str, vhost: str) -> str:
    """A private vhost on the local broker, so that two systems sharing one RabbitMQ
    (a test run and a bench, two test runs) never consume each other's messages:
    queue names are global within a vhost. Returns the URI for it."""
    if not shutil.which("rabbitmqctl"):
        raise RuntimeError("rabbitmqctl is needed to isolate this run in its own vhost")
    user = urlparse(amqp_uri).username or "guest"
    _rabbitmqctl("add_vhost", vhost)
    _rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")
    return with_vhost(amqp_uri, vhost)


# Dev only: each service's broker URI (its own user, a password made for this run) as
# "service=uri,...". Stack.service_env gives each process its own, never this variable.
DEV_BROKER_URIS = "ILM_DEV_BROKER_URIS"


def add_service_users(amqp_uri: str, vhost: str) -> dict:
    """A broker user per service in ``vhost`` with the permissions of
    shared/broker_users.py and a fresh random password, in one ``rabbitmqctl
    import_definitions``. Users are global to the broker, so they are named after the
    vhost (``ilm-intake@<vhost>``): parallel runs never share one. Returns the
    environment entry (DEV_BROKER_URIS) that Stack.service_env reads."""
    passwords = {s: secrets.token_urlsafe(18) for s in auth.SERVICES}
    _rabbitmqctl("import_definitions", "--format", "json",
                 stdin=json.dumps(broker_users.definitions(vhost, passwords, suffix_vhost=True)).encode())
    url = urlparse(with_vhost(amqp_uri, vhost))
    uris = {s: url._replace(netloc=f"{quote(broker_users.user_name(s, vhost), safe='')}:{pw}@"
                                   f"{url.hostname}:{url.port or 5672}").geturl()
            for s, pw in passwords.items()}
    return {DEV_BROKER_URIS: ",".join(f"{s}={uri}" for s, uri in uris.items())}


def broker_uris(env: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in env.get(DEV_BROKER_URIS, "").split(",") if item)


def delete_vhost(vhost: str) -> None:
    """The vhost (queues and all) and its service users, in parallel (rabbitmqctl is slow)."""
    if shutil.which("rabbitmqctl"):
        calls = [["delete_vhost", vhost]] + [["delete_user", broker_users.user_name(s, vhost)]
                                             for s in auth.SERVICES]
        procs = [subprocess.Popen(["rabbitmqctl", "-q", *args], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for args in calls]
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


# --- embedded MongoDB (nx-27017) -----------------------------------------------------

class EmbeddedMongo:
    """nx-27017 as its own process; data under ``data_dir`` survives restarts."""

    def __init__(self, data_dir: Path, port: int = 27017, host: str = "127.0.0.1"):
        self.data_dir, self.port, self.host = Path(data_dir), port, host
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/"

    def start(self) -> "EmbeddedMongo":
        if _port_open(self.host, self.port):
            raise RuntimeError(f"port {self.port} is taken: another Mongo server is running there")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("nx-27017", path=str(Path(sys.executable).parent)) or "nx-27017"
        self.proc = subprocess.Popen(
            [binary, "--host", self.host, "-p", str(self.port), "--data-dir", str(self.data_dir),
             "--pid-file", str(self.data_dir / "nx-27017.pid"),
             "--log-file", str(self.data_dir / "nx-27017.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_for(self._ping, 20, "nx-27017")
        return self

    def _ping(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"nx-27017 exited with {self.proc.returncode}; see {self.data_dir}/nx-27017.log")
        import pymongo
        with pymongo.MongoClient(self.uri, serverSelectionTimeoutMS=500) as c:
            return c.admin.command("ping")["ok"] == 1

    def stop(self) -> None:
        terminate(self.proc)

    def kill(self) -> None:
        """``kill -9``: no chance to finish a write or close a connection cleanly."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def terminate(proc: subprocess.Popen | None, timeout: float = 10) -> None:
    """SIGTERM a helper process, SIGKILL it if it is still there after ``timeout``."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()


# --- the services ----------------------------------------------------------------------

DATA_KEYS = ("PSEUDONYM_KEY", "WEBHOOK_SECRETS_KEY", "RECEIPT_PEPPER", "STAFF_OTP_KEY")
# The identity master keyring (id:key). "dev1", not "k1": a local set-up made before
# envelope encryption keeps its IDENTITY_KEY, which the keyring reads as k1 (its v1
# tokens still open), and gets this key added as the current one.
DEV_IDENTITY_KEY_ID = "dev1"
# The chat providers' secrets: random per local run, shared with the fake providers
# (scripts/fake_providers.py) and the signed webhooks (scripts/provider_webhooks.py).
CHANNEL_SECRETS = tuple(v.name for v in CHANNEL_VARIABLES if v.secret)
# Dev only: every issuer's token signing key in one variable, so the local run, the
# tests, the demo and the bench can act as any door. Stack.service_env gives each
# process only its own key (ACTOR_SIGNING_KEY) and never this variable.
DEV_SIGNING_KEYS = "ILM_DEV_SIGNING_KEYS"


def new_dev_keys() -> dict:
    keyring = auth.dev_keyring()
    keys = {n: base64.b64encode(os.urandom(32)).decode() for n in DATA_KEYS}
    keys |= {n: secrets.token_urlsafe(24) for n in CHANNEL_SECRETS}
    keys["TWILIO_ACCOUNT_SID"] = "AC" + secrets.token_hex(16)     # not secret, but made with them
    keys["IDENTITY_KEYS"] = f"{DEV_IDENTITY_KEY_ID}:" + base64.b64encode(os.urandom(32)).decode()
    # The backup channel's SMS (notifications) goes to the same fake provider's account;
    # in production it has credentials of its own. The local SMTP sink takes no login.
    keys |= {"BACKUP_SMS_ACCOUNT_SID": keys["TWILIO_ACCOUNT_SID"], "BACKUP_SMS_AUTH_TOKEN": keys["TWILIO_AUTH_TOKEN"],
             "SMTP_PASSWORD": secrets.token_urlsafe(12)}
    return {**keys, DEV_SIGNING_KEYS: auth.format_keys(keyring), "ACTOR_VERIFY_KEYS": auth.verify_keys_of(keyring)}


def dev_keys(path: Path) -> dict:
    """Keys for a local run, made once and kept beside the data (never committed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = dict(line.split("=", 1) for line in path.read_text().split()) if path.exists() else {}
    fresh = new_dev_keys()
    if DEV_SIGNING_KEYS in keys:     # the verify keys always derive from the kept keyring
        fresh["ACTOR_VERIFY_KEYS"] = auth.verify_keys_of(auth.parse_keys(keys[DEV_SIGNING_KEYS]))
        keys.pop("ACTOR_VERIFY_KEYS", None)
    missing = [n for n in fresh if n not in keys]   # a key added since the file was made
    if missing:
        with open(path, "a") as f:
            f.writelines(f"{n}={fresh[n]}\n" for n in missing)
        path.chmod(0o600)
    return dict(line.split("=", 1) for line in path.read_text().split())


def signing_keys(env: dict) -> dict[str, str]:
    """The dev keyring (issuer -> signing key) of an environment made by dev_keys."""
    return auth.parse_keys(env.get(DEV_SIGNING_KEYS), DEV_SIGNING_KEYS)


class ServiceProcess:
    def __init__(self, name: str, env: dict, log_dir: Path):
        self.name, self.env, self.log_path = name, env, Path(log_dir) / f"{name}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def ops_url(self) -> str:
        return "http://" + self.env["OPS_ADDRESS"]

    def start(self) -> "ServiceProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self._offset = self.log_path.stat().st_size
        self.proc = subprocess.Popen([sys.executable, "-m", "shared.runner", self.name], cwd=ROOT,
                                     env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        def started():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: see {self.log_path}")
            with open(self.log_path, "rb") as f:
                f.seek(self._offset)
                return b'"service_started"' in f.read()
        wait_for(started, timeout, self.name)

    def stop(self, timeout: float = 15) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self._log.close()


class Stack:
    """The services against a broker and a Mongo URI, each its own process."""

    def __init__(self, env: dict, log_dir: Path, http_port: int, gateway_port: int | None = None):
        self.env, self.log_dir, self.http_port = env, Path(log_dir), http_port
        self.gateway_port = gateway_port or free_port()
        self.procs: dict[str, ServiceProcess] = {}

    @property
    def intake_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.gateway_port}"

    def service_env(self, name: str) -> dict:
        """The process's environment with only its own secrets (SERVICE_SECRETS), its
        own token signing key and its own broker user (without add_service_users, the
        run's AMQP_URI)."""
        service = auth.issuer_of_process(name)
        env = {k: v for k, v in self.env.items()
               if k not in (DEV_SIGNING_KEYS, DEV_BROKER_URIS) and (k not in SECRETS or k in SERVICE_SECRETS[service])}
        env["ACTOR_SIGNING_KEY"] = signing_keys(self.env)[service]
        env["AMQP_URI"] = broker_uris(self.env).get(service, self.env["AMQP_URI"])
        port = {"intake": self.http_port, "gateway": self.gateway_port}.get(name) or free_port()
        env["HTTP_ADDRESS"] = f"127.0.0.1:{port}"
        env["OPS_ADDRESS"] = f"127.0.0.1:{free_port()}"
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        return env

    def start(self, *names: str) -> "Stack":
        names = names or SERVICES
        for name in names:
            self.procs[name] = ServiceProcess(name, self.service_env(name), self.log_dir).start()
        for name in names:
            self.procs[name].wait_ready()
        return self

    def stop(self, *names: str) -> None:
        for name in (names or list(self.procs)):
            proc = self.procs.get(name)
            if proc:
                proc.stop()

    def rpc_config(self) -> dict:
        return {"AMQP_URI": self.env["AMQP_URI"]}

    def acting_as(self, principal, timeout: float = 20):
        """An RPC client signing as ``principal`` with the dev keyring (start it)."""
        from shared.rpc_client import SignedRpc   # nameko: only after eventlet has patched
        return SignedRpc(self.env["AMQP_URI"], principal, signing_keys(self.env), timeout)
