"""`make run` stopping (scripts/run.py): once stopping has begun, a second Ctrl-C or kill is
ignored until the children have exited, rather than cutting the stop short with a traceback
and leaving children running. The real stop routine on a real child process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from tests.portal.test_run_web import _run_module

# A child that takes a second to stop on SIGTERM, as gunicorn and Celery finish their work.
SLOW_TO_STOP = (
    "import signal, sys, time\n"
    "signal.signal(signal.SIGTERM, lambda *_: (time.sleep(1), sys.exit(0)))\n"
    "print('ready', flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def run() -> Iterator[Any]:
    """scripts/run.py with its signal handlers installed as ``main`` installs them (this
    process's own handlers put back afterwards)."""
    module: Any = _run_module()
    before = {stop_signal: signal.getsignal(stop_signal) for stop_signal in module.STOP_SIGNALS}
    for stop_signal in module.STOP_SIGNALS:
        signal.signal(stop_signal, module._stop)
    yield module
    for stop_signal, handler in before.items():
        signal.signal(stop_signal, handler)


def test_signals_while_the_children_stop_are_ignored_and_every_child_stops(run: Any) -> None:
    child = subprocess.Popen([sys.executable, "-c", SLOW_TO_STOP], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    impatient = [
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)),
        threading.Timer(0.6, os.kill, (os.getpid(), signal.SIGTERM)),
    ]
    for timer in impatient:
        timer.start()
    run._stop_all({"web": child})  # a KeyboardInterrupt here fails the test
    for timer in impatient:
        timer.join()
    assert child.returncode == 0  # it stopped in its own time, not killed
    assert signal.getsignal(signal.SIGINT) is run._stop  # the handlers are back


def test_the_first_signal_stops_and_turns_further_ones_off(run: Any) -> None:
    with pytest.raises(KeyboardInterrupt):
        run._stop(signal.SIGINT, None)
    assert [signal.getsignal(s) for s in run.STOP_SIGNALS] == [signal.SIG_IGN] * 3
    os.kill(os.getpid(), signal.SIGTERM)  # ignored: no KeyboardInterrupt, this process lives on
