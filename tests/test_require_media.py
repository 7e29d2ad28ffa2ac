"""QAMOE_REQUIRE_MEDIA=1 turns every skip into a failure, whatever raised it, except a platform skip
(tests/support/require.py). Checked on a small test file run by a separate pytest, with and without it."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

TESTS = Path(__file__).resolve().parent

SKIPPING = '''
import pytest

from support.require import need, need_module, platform_skip


@pytest.fixture
def skipping_fixture():
    pytest.skip("a fixture's data is not here")


def test_need():
    need(False, "the data set is not here")


def test_need_module():
    need_module("qamoe_no_such_package")


def test_importorskip():
    pytest.importorskip("qamoe_no_such_package")


@pytest.mark.skipif(True, reason="a skipif marker")
def test_skipif_marker():
    pass


def test_fixture(skipping_fixture):
    pass


@pytest.mark.platform_skipif(True, reason="this machine has a GPU")
def test_platform_marker():
    pass


def test_platform_call():
    platform_skip("this machine has a GPU")


@pytest.mark.platform_skipif(False, reason="never taken")
def test_platform_marker_not_taken():
    pass


def test_runs():
    pass


@pytest.mark.xfail(reason="a known failure stays expected", strict=True)
def test_xfail():
    assert False
'''

SKIPPED_MODULE = '''
from support.require import need_modules

need_modules("qamoe_no_such_package")


def test_never_collected():
    pass
'''


def run_pytest(tmp_path: Path, source: str, require: bool) -> tuple[int, dict[str, str]]:
    """Runs `source` as a test file in its own pytest with the plugin; returns (exit code, {test: outcome})."""
    (tmp_path / "test_sample.py").write_text(source)
    report = tmp_path / "report.xml"
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    env.pop("QAMOE_REQUIRE_MEDIA", None)
    if require:
        env["QAMOE_REQUIRE_MEDIA"] = "1"
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "support.require", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         f"--junitxml={report}", "-q", str(tmp_path / "test_sample.py")],
        cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120,
    )
    outcomes = {}
    for case in ET.parse(report).iter("testcase"):
        kinds = [child.tag for child in case if child.tag in ("failure", "error", "skipped")]
        outcomes[case.get("name")] = kinds[0] if kinds else "passed"
    return proc.returncode, outcomes


def test_without_it_skips_stay_skips(tmp_path):
    code, outcomes = run_pytest(tmp_path, SKIPPING, require=False)
    assert code == 0
    assert outcomes == {
        "test_need": "skipped", "test_need_module": "skipped", "test_importorskip": "skipped",
        "test_skipif_marker": "skipped", "test_fixture": "skipped", "test_platform_marker": "skipped",
        "test_platform_call": "skipped", "test_platform_marker_not_taken": "passed", "test_runs": "passed",
        "test_xfail": "skipped",  # junit's word for an expected failure
    }


def test_with_it_every_skip_but_a_platform_skip_fails(tmp_path):
    code, outcomes = run_pytest(tmp_path, SKIPPING, require=True)
    assert code == 1
    assert outcomes == {
        "test_need": "failure", "test_need_module": "failure", "test_importorskip": "failure",
        "test_skipif_marker": "error", "test_fixture": "error",  # skipped in setup: an error at setup
        "test_platform_marker": "skipped", "test_platform_call": "skipped", "test_platform_marker_not_taken": "passed",
        "test_runs": "passed", "test_xfail": "skipped",
    }
    report = (tmp_path / "report.xml").read_text()
    assert "QAMOE_REQUIRE_MEDIA=1 turns every skip into a failure: the data set is not here" in report
    assert "qamoe_no_such_package is not installed" in report


def test_a_module_that_skips_itself_is_a_collection_error_with_it(tmp_path):
    code, outcomes = run_pytest(tmp_path, SKIPPED_MODULE, require=False)
    assert code == 5 and outcomes == {"test_sample": "skipped"}  # the module skipped, no test collected
    code, outcomes = run_pytest(tmp_path, SKIPPED_MODULE, require=True)
    assert code == 2 and outcomes == {"test_sample": "error"}  # interrupted: an error during collection
    assert "turns every skip into a failure: qamoe_no_such_package is not installed" in (tmp_path / "report.xml").read_text()


def test_this_suite_runs_with_the_plugin(request):
    assert request.config.pluginmanager.hasplugin("support.require")
