"""What every nameko service class of the system starts from, and its timer.

``ServiceBase`` gives the request context (correlation id bound to the log lines,
latency recorded), the container's settings and the verified caller. Services add ``Aggregates``
dependencies for their data (shared/unit_of_work.py); the outbox relay and its sweep
come with them.
"""
from nameko.timer import Timer

from shared import dead_letters, metrics
from shared.caller import Caller
from shared.config import Config, settings_of
from shared.context import RequestContext


class ConfiguredTimer(Timer):
    """A timer whose interval is a setting, read when the container sets up (not when
    the class is defined): ``@every("public_report_interval")``."""

    def __init__(self, setting: str, **kwargs):
        self.setting = setting
        super().__init__(interval=None, **kwargs)

    def setup(self):
        self.interval = float(getattr(settings_of(self.container), self.setting))
        super().setup()


every = ConfiguredTimer.decorator


class ServiceBase:
    ctx = RequestContext()
    config = Config()
    caller = Caller()    # the verified actor of an RPC call (shared/caller.py)

    @every("metrics_refresh_interval")
    def count_dead_letters(self):
        """Poison messages wait for an operator: each service's /metrics says how many,
        so an alert can fire on ilm_dead_letters > 0 (README "Dead letters")."""
        try:
            waiting = dead_letters.depth(self.config.amqp_uri)
        except OSError:          # the broker is away: the gauge keeps its last count
            return
        if waiting is not None:
            metrics.DEAD_LETTERS.set(waiting)
