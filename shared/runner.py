"""Start one service process: ``python -m shared.runner intake``.

Replaces ``nameko run --config``: configuration comes from environment variables
(shared.config), logs are JSON, and SIGTERM stops gracefully (entrypoints stop
taking work, in-flight workers finish and ack, then the process exits), which is
what Kubernetes sends before it kills a pod.
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
from shared import store  # noqa: E402
from shared.config import settings  # noqa: E402
from shared.ops import OpsServer  # noqa: E402

SERVICES = ("intake", "remediation", "validation", "notifications")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"usage: python -m shared.runner {{{','.join(SERVICES)}}}", file=sys.stderr)
        return 2
    name = argv[0]
    cfg = settings()
    ilm_logging.configure(name, cfg.log_level)
    log = ilm_logging.get_logger("runner")
    module = importlib.import_module(f"services.{name}.service")

    runner = ServiceRunner(cfg.nameko_config())
    for service_cls in module.SERVICES:
        runner.add_service(service_cls)
        if getattr(service_cls, "lane", None) == "alerts":
            # Its own worker pool (and prefetch): ordinary work cannot occupy it.
            config = dict(cfg.nameko_config(), max_workers=cfg.alert_max_workers)
            runner.service_map[service_cls.name] = runner.container_cls(service_cls, config)

    def shutdown(signum, frame):
        # Signal handlers run in the main loop, which cannot block on eventlet:
        # stop from a green thread.
        eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    ops = OpsServer(cfg.ops_address, runner, cfg.amqp_uri,
                    mongo_ping=lambda: store.client().admin.command("ping"))
    ops.start()
    runner.start()
    log.info("service_started", services=[s.name for s in module.SERVICES], pid=os.getpid())
    try:
        runner.wait()
    except KeyboardInterrupt:
        runner.stop()
    ops.stop()
    log.info("service_stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
