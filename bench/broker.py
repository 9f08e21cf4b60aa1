"""Raw RabbitMQ with pika (no nameko, no eventlet): the ceiling the system is compared
with, and a fast confirmed publisher for the retaliation backlog.

Run as its own process (``python -m bench.broker ...``, JSON on stdout) so that pika
runs on plain sockets, not on the bench's eventlet-patched ones.

    python -m bench.broker baseline --uri URI --count N [--prefetch P]
    python -m bench.broker backlog --uri URI --supplier SUP --count B [--markers A --spacing S]
"""
from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import uuid

import pika

from shared.contracts.events import CASE_STATUS_CHANGED, GRIEVANCE_RECEIVED, make_event

DEFAULT_PREFETCH = 100
EVENT_EXCHANGE = "remediation.events"          # nameko's exchange of remediation's events


def grievance_received_event() -> dict:
    """A real grievance.received event, as intake raises it."""
    return make_event(GRIEVANCE_RECEIVED, "ILM-BENCH2345", {
        "worker_key": "wk_" + uuid.uuid4().hex, "channel": "line", "language": "my",
        "work_area": "working_conditions", "forced_labour_indicators": ["withholding_of_wages"],
        "severity": "critical", "retaliation": False, "supplier_ref": "SUP-BENCH-0001",
        "site_ref": "SITE-SAMUT-7", "agency_ref": None, "received_at": "2026-11-01T00:00:00.000Z",
    }, correlation_id=uuid.uuid4().hex)


def ordinary_event(supplier: str, case_ref: str, correlation_id: str = "backlog") -> dict:
    """An ordinary case.status_changed event (tests/integration/test_retaliation_lane.py)."""
    return make_event(CASE_STATUS_CHANGED, case_ref, {
        "from_status": "referred", "to_status": "acknowledged", "case_version": 3, "severity": "normal",
        "work_area": "working_conditions", "supplier_ref": supplier, "site_ref": "SITE-1",
        "business_ref": supplier, "business_type": "supplier",
        "actor": {"id": supplier, "role": "supplier"}, "changed_at": "2026-11-01T00:00:00.000Z",
    }, correlation_id=correlation_id)


def _connect(uri: str) -> pika.BlockingConnection:
    return pika.BlockingConnection(pika.URLParameters(uri))


def baseline(uri: str, count: int, prefetch: int = DEFAULT_PREFETCH) -> dict:
    """Publish ``count`` persistent messages with publisher confirms (each publish
    waits for its confirm, as the services' relay does) to a scratch durable queue,
    then consume them with manual acks; the queue is deleted afterwards."""
    body = json.dumps(grievance_received_event()).encode("utf-8")
    queue = f"bench.scratch.{uuid.uuid4().hex[:12]}"
    props = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent,
                                 content_type="application/json", content_encoding="utf-8")
    conn = _connect(uri)
    try:
        ch = conn.channel()
        ch.queue_declare(queue, durable=True)
        ch.confirm_delivery()
        started = time.perf_counter()
        for _ in range(count):
            ch.basic_publish("", queue, body, props, mandatory=True)
        publish_s = time.perf_counter() - started

        ch.basic_qos(prefetch_count=prefetch)
        consumed = 0

        def on_message(channel, method, properties, payload):
            nonlocal consumed
            json.loads(payload)                    # a consumer decodes what it gets
            channel.basic_ack(method.delivery_tag)
            consumed += 1
            if consumed >= count:
                channel.stop_consuming()

        started = time.perf_counter()
        ch.basic_consume(queue, on_message, auto_ack=False)
        ch.start_consuming()
        consume_s = time.perf_counter() - started
        ch.queue_delete(queue)
    finally:
        try:
            with _connect(uri) as cleanup:       # also after a failure half-way
                cleanup.channel().queue_delete(queue)
        except Exception:  # noqa: BLE001 - best effort
            pass
        if conn.is_open:
            conn.close()
    return {"messages": count, "payload_bytes": len(body), "prefetch": prefetch,
            "publish_seconds": round(publish_s, 3), "publish_msg_s": round(count / publish_s, 1),
            "consume_seconds": round(consume_s, 3), "consume_msg_s": round(count / consume_s, 1),
            "queue": "classic durable, persistent messages, publisher confirms one by one, "
                     f"mandatory; consumer basic_consume, manual ack per message, prefetch {prefetch}"}


def backlog(uri: str, supplier: str, count: int, markers: int = 0, spacing: float = 0.02,
            prefix: str = "BKLG", connections: int = 4) -> dict:
    """Publish ``count`` ordinary events then ``markers`` marker events (spaced
    ``spacing`` s) to remediation's event exchange, confirmed and persistent, with
    the headers nameko's publisher sets. Returns each marker's publish time
    (time.monotonic, comparable across processes on Linux)."""
    t_build = time.perf_counter()
    events = [ordinary_event(supplier, f"ILM-{prefix}{n:06d}") for n in range(count)]
    marks = [ordinary_event(supplier, f"ILM-MARK{prefix}{n:05d}", correlation_id="marker") for n in range(markers)]
    build_s = time.perf_counter() - t_build
    marker_times = {}

    def publisher():
        conn = _connect(uri)
        ch = conn.channel()
        ch.confirm_delivery()

        def publish(event):
            props = pika.BasicProperties(
                delivery_mode=pika.DeliveryMode.Persistent, content_type="application/json",
                content_encoding="utf-8", message_id=event["event_id"],
                headers={"nameko.correlation_id": event["correlation_id"]})
            ch.basic_publish(EVENT_EXCHANGE, "case.status_changed.v1", json.dumps(event).encode("utf-8"),
                             props, mandatory=True)
        return conn, publish

    # The backlog over several connections at once (its order does not matter),
    # each message confirmed; then the markers, in order, on one connection.
    errors = []

    def run(part):
        try:
            conn, publish = publisher()
            try:
                for event in part:
                    publish(event)
            finally:
                conn.close()
        except Exception as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(events[i::connections],)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    publish_s = time.perf_counter() - started
    if errors:
        raise errors[0]
    if marks:
        conn, publish = publisher()
        try:
            for event in marks:
                if spacing:
                    time.sleep(spacing)
                publish(event)
                marker_times[event["case_ref"]] = time.monotonic()
        finally:
            conn.close()
    return {"published": count, "connections": connections, "build_seconds": round(build_s, 2), "publish_seconds": round(publish_s, 2),
            "publish_msg_s": round(count / publish_s, 1) if publish_s else None,
            "marker_published_at": marker_times}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("baseline")
    b.add_argument("--uri", required=True)
    b.add_argument("--count", type=int, required=True)
    b.add_argument("--prefetch", type=int, default=DEFAULT_PREFETCH)
    k = sub.add_parser("backlog")
    k.add_argument("--uri", required=True)
    k.add_argument("--supplier", required=True)
    k.add_argument("--count", type=int, required=True)
    k.add_argument("--markers", type=int, default=0)
    k.add_argument("--spacing", type=float, default=0.02)
    k.add_argument("--prefix", default="BKLG")
    k.add_argument("--connections", type=int, default=4)
    args = p.parse_args(argv)
    if args.cmd == "baseline":
        result = baseline(args.uri, args.count, args.prefetch)
    else:
        result = backlog(args.uri, args.supplier, args.count, args.markers, args.spacing, args.prefix, args.connections)
    json.dump(result, sys.stdout)
    return 0


def call(*args: str, timeout: float = 600) -> dict:
    """Run this module in a fresh (not eventlet-patched) interpreter; its JSON result."""
    import os
    import subprocess
    from pathlib import Path
    root = str(Path(__file__).resolve().parent.parent)
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""),
               PYTHONWARNINGS="ignore")
    out = subprocess.run([sys.executable, "-m", "bench.broker", *args], cwd=root, env=env,
                         capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"bench.broker {args[0]} failed ({out.returncode}): {out.stderr[-2000:]}")
    return json.loads(out.stdout)


if __name__ == "__main__":
    sys.exit(main())
