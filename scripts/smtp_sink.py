"""A local SMTP server that accepts every message and records it, standing in for the
mail server of the backup contact channel (services/notifications/backup_sender.py)
in the tests and the demo.

aiosmtpd runs on asyncio, which eventlet's monkey-patching (the tests', the demo's)
would break, so the server is a process of its own writing one JSON line per message
to a file; ``SmtpSink`` starts it and reads that file:

    with SmtpSink(tmp_dir) as sink:          # or .start() / .stop()
        env.update(sink.env())                # SMTP_HOST, SMTP_PORT, SMTP_TLS=false
        sink.wait_for(lambda got: any(m["subject"].startswith("ILM") for m in got))

``python -m scripts.smtp_sink --port 8025 --out FILE [--print]`` runs the server alone.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Callable

from scripts.stack import ROOT, _port_open, free_port, terminate, wait_for


class SmtpSink:
    def __init__(self, directory: Path, port: int = 0, echo: bool = False):
        self.port = port or free_port()
        self.path = Path(directory) / f"smtp-sink-{self.port}.jsonl"
        self.echo, self.proc = echo, None

    def env(self) -> dict:
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(self.port), "SMTP_TLS": "false"}

    def start(self) -> "SmtpSink":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.touch()
        args = [sys.executable, "-m", "scripts.smtp_sink", "--port", str(self.port), "--out", str(self.path)]
        self.proc = subprocess.Popen(args + (["--print"] if self.echo else []), cwd=ROOT,
                                     stdout=None if self.echo else subprocess.DEVNULL)

        def listening():
            if self.proc.poll() is not None:
                raise RuntimeError(f"the SMTP sink exited with {self.proc.returncode} (is aiosmtpd installed?)")
            return _port_open("127.0.0.1", self.port)
        wait_for(listening, 20, "the SMTP sink")
        return self

    def messages(self) -> list[dict]:
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]

    def wait_for(self, predicate: Callable[[list], bool], timeout: float = 30.0) -> list[dict]:
        """The messages once ``predicate(messages)`` holds; TimeoutError after ``timeout``."""
        def satisfied():
            got = self.messages()
            return got if predicate(got) else None
        return wait_for(satisfied, timeout, "an e-mail satisfying the condition")

    def stop(self) -> None:
        terminate(self.proc)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def record_of(envelope) -> dict:
    msg = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
    body = msg.get_body(preferencelist=("plain",))
    return {"from": envelope.mail_from, "to": list(envelope.rcpt_tos), "subject": str(msg["subject"] or ""),
            "text": body.get_content() if body is not None else "", "at": time.time()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--print", action="store_true", help="print each message received")
    args = parser.parse_args(argv)
    from aiosmtpd.controller import Controller

    class Recorder:
        async def handle_DATA(self, server, session, envelope):
            record = record_of(envelope)
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")
            if args.print:
                print(f"[e-mail -> {', '.join(record['to'])}] {record['subject']}: {record['text'].strip()}", flush=True)
            return "250 Message accepted"

    controller = Controller(Recorder(), hostname="127.0.0.1", port=args.port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
