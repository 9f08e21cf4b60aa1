"""A hung test fails on its own instead of stalling the whole run.

Each phase of a test (setup, call, teardown) gets ``ILM_TEST_PHASE_TIMEOUT`` seconds
(300 by default). When a phase runs over, the stacks of every greenthread are written
out and the phase fails with :class:`TestHung`, thrown into the test's greenthread at
the green wait it is stuck in: the run goes on with the next test. (pytest-timeout's
SIGALRM lands in eventlet's hub and its thread fallback ends the whole run; the tests
run monkey-patched, so an eventlet timer is the tool that reaches the stuck wait.)
A phase blocked outside eventlet (in C, holding the GIL) is left to pytest's own
``faulthandler_timeout``, which dumps the OS threads' stacks. Progress is flushed after
each test so that a CI log shows how far a run got."""
from __future__ import annotations

import gc
import os
import sys
import traceback

import greenlet
import pytest
from eventlet import hubs

PHASE_TIMEOUT = float(os.environ.get("ILM_TEST_PHASE_TIMEOUT", "300"))


class TestHung(BaseException):
    """A BaseException so that no ``except Exception`` in a retry loop swallows it."""

    __test__ = False   # not a test class, whatever pytest's collection thinks of the name


def greenthread_stacks() -> str:
    stacks = []
    for obj in gc.get_objects():
        if isinstance(obj, greenlet.greenlet) and obj.gr_frame is not None:
            stacks.append("".join(traceback.format_stack(obj.gr_frame)))
    return "\n--- greenthread ---\n".join(stacks)


def _guarded(item: pytest.Item, phase: str):
    target = greenlet.getcurrent()

    def fire():
        message = f"the {phase} of {item.nodeid} ran over {PHASE_TIMEOUT:g} s"
        print(f"\n{message}; every greenthread's stack:\n{greenthread_stacks()}", file=sys.__stderr__, flush=True)
        target.throw(TestHung(message))

    timer = hubs.get_hub().schedule_call_global(PHASE_TIMEOUT, fire)
    try:
        return (yield)
    finally:
        timer.cancel()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    return (yield from _guarded(item, "setup"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    return (yield from _guarded(item, "call"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item):
    return (yield from _guarded(item, "teardown"))


@pytest.hookimpl(trylast=True)
def pytest_runtest_logfinish(nodeid, location):
    sys.stdout.flush()
    reporter = _reporter[0]
    if reporter is not None:
        reporter.flush()


_reporter: list = [None]


@pytest.hookimpl(trylast=True)
def pytest_configure(config):
    _reporter[0] = config.pluginmanager.get_plugin("terminalreporter")
