"""The system under test, started the way the integration tests start it: RabbitMQ
(started if down), the bench's own nx-27017 on a free port with a temporary data
dir, fresh keys, a unique database prefix, the services as processes, and a
partner's webhook receiver. Everything is stopped and removed on exit.

Isolation: the services' queues have fixed names (nameko names them after service
and method), so a bench sharing the broker's default vhost with a test run or a
local demo would steal their messages and they ours. The bench therefore runs in a
vhost of its own (created with ``rabbitmqctl``, deleted afterwards, queues and all)
when it can, and says so in the results when it cannot.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

from bench.common import say
from scripts.stack import (
    DEV_BROKER_URIS, EmbeddedMongo, Stack, add_service_users, create_vhost, delete_vhost, ensure_rabbitmq,
    free_port, new_dev_keys,
)
from scripts.smtp_sink import SmtpSink
from scripts.webhook_receiver import LOCAL_RECEIVER_SETTINGS, WebhookReceiver

DEFAULT_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
# The backup contact the bench's alerts reach when no safeguarding recipient takes them.
BENCH_BACKUP = {"BACKUP_CONTACT_EMAILS": "backup@bench.ilm.test"}


class Vhost:
    """A scratch RabbitMQ vhost for one bench run (rabbitmqctl on the local broker)."""

    def __init__(self, base_uri: str, name: str):
        # The service users made in this vhost; none (the run's AMQP_URI for every
        # service) when it is not isolated, whatever broker users the caller's env names.
        self.base_uri, self.name, self.created, self.users = base_uri, name, False, {DEV_BROKER_URIS: ""}

    def create(self) -> str:
        host = urlparse(self.base_uri).hostname or "127.0.0.1"
        if host not in ("127.0.0.1", "localhost") or not shutil.which("rabbitmqctl"):
            return self.base_uri
        try:
            uri = create_vhost(self.base_uri, self.name)
            self.users = add_service_users(self.base_uri, self.name)   # each service as its own user
        except subprocess.CalledProcessError as exc:
            say(f"could not create vhost {self.name} ({(exc.stderr or b'').decode()[:200].strip()}); "
                "using the given vhost")
            delete_vhost(self.name)
            return self.base_uri
        self.created = True
        return uri

    def delete(self) -> None:
        if self.created:
            delete_vhost(self.name)
            self.created = False


class BenchSystem:
    """``with BenchSystem() as system:`` makes the vhost; ``system.start_services()``
    starts nx-27017, the stack and the receiver; leaving the block stops and removes
    everything (the temporary directory is kept after a failure, for its logs)."""

    def __init__(self, keep: bool = False, log_level: str | None = None):
        self.run_id = uuid.uuid4().hex[:8]
        self.keep = keep
        self.log_level = log_level
        self.tmp = Path(tempfile.mkdtemp(prefix=f"ilm-bench-{self.run_id}-"))
        base = os.environ.get("AMQP_URI") or DEFAULT_AMQP
        self.vhost = Vhost(base, f"ilm-bench-{self.run_id}")
        self.mongo: EmbeddedMongo | None = None
        self.stack: Stack | None = None
        self.receiver: WebhookReceiver | None = None
        self.smtp: SmtpSink | None = None
        self.amqp_uri = base
        self.isolated = False
        self.started_at = None

    # --- lifecycle ---------------------------------------------------------------
    def __enter__(self) -> "BenchSystem":
        try:
            ensure_rabbitmq(self.vhost.base_uri)
            self.amqp_uri = self.vhost.create()
            self.isolated = self.vhost.created
            say(f"RabbitMQ: {'own vhost ' + self.vhost.name if self.isolated else 'shared vhost (not isolated)'}")
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and not self.keep:
            self.keep = True          # keep the logs of a failed run
        self.close()

    def start_services(self, stack=Stack) -> None:
        """nx-27017, the services and the webhook receiver; ``stack``: how to make the
        Stack from (env, log dir, intake port) (bench/outage.py puts proxies in)."""
        if self.stack is not None:
            return
        self.mongo = EmbeddedMongo(self.tmp / "mongo", port=free_port()).start()
        say(f"nx-27017 on {self.mongo.uri} (data in {self.mongo.data_dir})")
        self.smtp = SmtpSink(self.tmp).start()      # the backup contact's mailbox (bench/retaliation.py)
        env = dict(os.environ)
        env.update({
            "AMQP_URI": self.amqp_uri,
            "MONGO_URI": self.mongo.uri,
            "MONGO_DB_PREFIX": f"bench{self.run_id}_",
            **self.vhost.users,
        })
        env.update(new_dev_keys())     # data keys and the token keyring, fresh for this run
        env.update(LOCAL_RECEIVER_SETTINGS)   # the partners' endpoints are local receivers
        env.update(BENCH_BACKUP, **self.smtp.env())
        if self.log_level:
            env["LOG_LEVEL"] = self.log_level
        # This process's RPC client, event publisher and store adapter use the same
        # settings (settings() is cached: drop what an import may have cached).
        os.environ.update(env)
        from shared.config import settings
        settings.cache_clear()
        self.env = env
        self.stack = stack(env, self.tmp / "logs", free_port())
        started = time.monotonic()
        self.stack.start()
        self.started_at = time.monotonic()
        say(f"services started in {self.started_at - started:.1f}s; intake on {self.stack.intake_url}")
        self.receiver = WebhookReceiver()

    def _stop_stack(self, timeout: float = 20) -> None:
        """SIGTERM every service at once, then wait for each (one signal only: a
        second SIGTERM makes nameko stop its timers twice)."""
        import signal
        running = [p for p in self.stack.procs.values() if p.proc and p.proc.poll() is None]
        for proc in running:
            proc.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.proc.kill()
                proc.proc.wait()
            try:
                proc._log.close()
            except Exception:  # noqa: BLE001
                pass

    def close(self) -> None:
        for step in (lambda: self.stack and self._stop_stack(),
                     lambda: self.receiver and self.receiver.close(),
                     lambda: self.smtp and self.smtp.stop(),
                     lambda: self.mongo and self.mongo.stop(),
                     self.vhost.delete):
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - keep cleaning up
                say(f"cleanup step failed: {exc!r}")
        if self.stack:
            for proc in self.stack.procs.values():    # never leave a process behind
                try:
                    proc.kill()
                except Exception:  # noqa: BLE001
                    pass
        if self.keep:
            say(f"kept {self.tmp} (logs, nx-27017 data)")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- helpers -----------------------------------------------------------------
    def pids(self) -> dict[str, int]:
        return {name: p.proc.pid for name, p in self.stack.procs.items() if p.proc and p.proc.poll() is None}

    def rpc_proxy(self, principal=None, timeout: float = 30):
        """An RPC client whose calls carry a signed token for ``principal`` (the
        bench's case worker by default), as every real caller's do."""
        from shared.auth import Principal
        return self.stack.acting_as(principal or Principal("cw-bench", "case_worker"), timeout=timeout)

    def dead_letters(self) -> int | None:
        """Messages in the dead-letter queue (a contract mismatch shows up here)."""
        from kombu import Connection
        try:
            with Connection(self.amqp_uri) as conn:
                return conn.channel().queue_declare("ilm.dead-letter.v1", passive=True).message_count
        except Exception:  # noqa: BLE001 - not declared yet
            return None

    def log_path(self, service: str) -> Path:
        return self.stack.procs[service].log_path
