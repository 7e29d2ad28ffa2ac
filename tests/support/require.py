"""What a test needs from the machine, and the rule that CI may not skip.

A test that lacks an optional package (the `media` extra), a system program (espeak-ng, ffmpeg,
tmux), the shared data sets or a shipped asset skips. With QAMOE_REQUIRE_MEDIA=1 (set in CI) every
skip is a failure instead, whatever raised it (`need`, `pytest.skip`, `pytest.importorskip`, a
`skipif` marker, a fixture, a whole module): the hooks below, which tests/conftest.py registers as a
plugin, so a green CI run proves that every test ran.

The one exception is a platform skip: a test that cannot run on this kind of machine at all. It is
raised by `platform_skip` or the `platform_skipif` marker and stays a skip. There are two today, both
"this machine has a GPU" (tests/test_device.py, tests/realtime/test_gpu_script.py: they check what
a machine without one says).
"""

from __future__ import annotations

import importlib
import os
import shutil
from types import ModuleType

import pytest

REQUIRE_MEDIA = "QAMOE_REQUIRE_MEDIA"


def media_required() -> bool:
    """True when QAMOE_REQUIRE_MEDIA=1: every skip but a platform skip fails."""
    return os.environ.get(REQUIRE_MEDIA) == "1"


class PlatformSkip(pytest.skip.Exception):
    """A skip that QAMOE_REQUIRE_MEDIA=1 leaves a skip: this machine is of the wrong kind for the test."""


def need(condition: bool, reason: str) -> None:
    """Skips the test (or, at module level, the module) with `reason` unless `condition` holds."""
    if not condition:
        pytest.skip(reason, allow_module_level=True)


def need_module(name: str) -> ModuleType:
    """The optional package `name`, imported; skips when it is not installed."""
    try:
        return importlib.import_module(name)
    except ImportError:
        need(False, f"{name} is not installed (pip install '.[media]')")


def need_modules(*names: str) -> None:
    for name in names:
        need_module(name)


def need_program(name: str) -> str:
    """The path of the system program `name`; skips when it is not on PATH."""
    path = shutil.which(name)
    need(path is not None, f"{name} is not installed (apt-get install {name}, or scripts/bootstrap.sh as root)")
    return path


def platform_skip(reason: str) -> None:
    raise PlatformSkip(reason)


# ------------------------------------------------------------------ pytest hooks


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "platform_skipif(condition, *, reason): skip on the wrong kind of machine, even under QAMOE_REQUIRE_MEDIA=1")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    for mark in item.iter_markers("platform_skipif"):
        if mark.args[0]:
            platform_skip(mark.kwargs["reason"])


def _refused(reason: str) -> str:
    return f"skipped, but {REQUIRE_MEDIA}=1 turns every skip into a failure: {reason}"


def _skip_reason(longrepr) -> str:
    """The reason of a skip report's (path, line, "Skipped: reason")."""
    reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return reason.removeprefix("Skipped: ")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    platform = call.excinfo is not None and isinstance(call.excinfo.value, PlatformSkip)
    if report.skipped and not hasattr(report, "wasxfail") and not platform and media_required():
        report.outcome = "failed"
        report.longrepr = _refused(_skip_reason(report.longrepr))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    """A module that skips itself as it is imported (a missing package): a collection error under CI."""
    report = yield
    if report.skipped and media_required():
        report.outcome = "failed"
        report.longrepr = _refused(_skip_reason(report.longrepr))
    return report
