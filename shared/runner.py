"""Start one service process: ``python -m shared.runner intake``.

Each process hosts exactly one nameko service (see ``PROCESSES``): the retaliation
alert lane is a process of its own (``notifications_alerts``) with its own worker
pool, so nothing else in a process can occupy it. Replaces ``nameko run --config``:
configuration comes from environment variables (shared.config), logs are JSON, and
SIGTERM stops gracefully (entrypoints stop taking work, in-flight workers finish and
ack, then the process exits), which is what Kubernetes sends before it kills a pod.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
import eventlet  # noqa: E402

eventlet.monkey_patch()  # noqa: E402  before anything opens a socket

import importlib  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402

from nameko.runners import ServiceRunner  # noqa: E402

from shared import logging as ilm_logging  # noqa: E402
from shared import repository  # noqa: E402
from shared.config import settings  # noqa: E402
from shared.ops import OpsServer  # noqa: E402

# Process name -> the service class it runs.
PROCESSES = {
    "intake": "services.intake.service:IntakeService",
    "gateway": "services.gateway.service:GatewayService",
    "remediation": "services.remediation.service:RemediationService",
    "validation": "services.validation.service:ValidationService",
    "notifications": "services.notifications.service:NotificationsService",
    "notifications_alerts": "services.notifications.service:AlertLaneService",
}
SERVICES = tuple(PROCESSES)


def service_class(name: str):
    module, cls = PROCESSES[name].split(":")
    return getattr(importlib.import_module(module), cls)


class ContainerWatch:
    """Which containers have died, learnt through nameko's public ``wait()``."""

    def __init__(self, containers):
        self.dead: list[str] = []
        for container in containers:
            eventlet.spawn_n(self._watch, container)

    def _watch(self, container):
        try:
            container.wait()
        except BaseException:  # noqa: BLE001 - a container that died raises here
            self.dead.append(container.service_name)

    def dead_containers(self) -> list[str]:
        return list(self.dead)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in PROCESSES:
        print(f"usage: python -m shared.runner {{{','.join(SERVICES)}}}", file=sys.stderr)
        return 2
    name = argv[0]
    cfg = settings()
    ilm_logging.configure(name, cfg.log_level)
    log = ilm_logging.get_logger("runner")
    service_cls = service_class(name)
    # The alert lane's own pool (and prefetch): ALERT_MAX_WORKERS.
    workers = cfg.alert_max_workers if getattr(service_cls, "lane", None) == "alerts" else cfg.max_workers
    runner = ServiceRunner(cfg.nameko_config(max_workers=workers))
    runner.add_service(service_cls)

    def shutdown(signum, frame):
        # Signal handlers run in the main loop, which cannot block on eventlet:
        # stop from a green thread.
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    watch = ContainerWatch(runner.containers)
    ops = OpsServer(cfg.ops_address, watch.dead_containers, cfg.amqp_uri,
                    mongo_ping=lambda: repository.client(cfg.mongo_uri).admin.command("ping"))
    ops.start()
    runner.start()
    log.info("service_started", services=[service_cls.name], pid=os.getpid())
    try:
        runner.wait()
    except KeyboardInterrupt:
        runner.stop()
    except Exception:  # noqa: BLE001 - a container died: /livez has said so; exit non-zero
        ops.stop()
        log.error("service_died")
        return 1
    ops.stop()
    log.info("service_stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
