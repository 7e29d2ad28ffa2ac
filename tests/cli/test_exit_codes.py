"""The one error-to-exit-code policy (cli/common.clear_errors) that every command uses."""

from __future__ import annotations

import errno

import pytest
from rich.console import Console

from qamoe.checkpoint import CheckpointError
from qamoe.cli.common import clear_errors
from qamoe.dataset import DataError


class MediaTrouble(RuntimeError):
    pass


class NothingUsable(ValueError):
    pass


def exit_of(error: BaseException, capsys, **policy) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        with clear_errors(Console(stderr=True), **policy):
            raise error
    return info.value.code, capsys.readouterr().err


@pytest.mark.parametrize("error", [ValueError("bad --seconds"), CheckpointError("not a checkpoint"),
                                   DataError("no labels"), FileNotFoundError("x.mp4: no such file")])
def test_user_errors_are_one_line_and_code_2(error, capsys):
    code, text = exit_of(error, capsys)
    assert code == 2 and text.startswith("error:") and str(error) in text and "Traceback" not in text


def test_a_wrapped_message_stays_one_line_and_markup_is_shown_as_written(capsys):
    code, text = exit_of(ValueError("decoder said:\n  [bold]broken[/bold] stream"), capsys)
    assert code == 2 and text.strip() == "error: decoder said: [bold]broken[/bold] stream"


def test_a_command_adds_its_own_user_errors_and_codes(capsys):
    with pytest.raises(MediaTrouble):  # not a user error unless the command says so: a bug keeps its traceback
        with clear_errors(Console(stderr=True)):
            raise MediaTrouble("corrupt")
    assert exit_of(MediaTrouble("corrupt"), capsys, user_errors=(MediaTrouble,))[0] == 2
    # a command's own code wins over the ValueError it subclasses (qamoe-predict: no usable input -> 3)
    assert exit_of(NothingUsable("no words"), capsys, exit_codes={NothingUsable: 3})[0] == 3


def test_os_errors_interrupts_and_live_devices(capsys):
    full = OSError(errno.ENOSPC, "No space left on device", "out/metrics.json")
    code, text = exit_of(full, capsys)
    assert code == 1 and "could not write out/metrics.json: No space left on device" in text
    code, text = exit_of(PermissionError(errno.EACCES, "Permission denied", "clip.mp4"), capsys, io="read")
    assert code == 1 and "could not read clip.mp4" in text
    assert exit_of(KeyboardInterrupt(), capsys)[0] == 130
    assert exit_of(OSError("camera gone"), capsys, user_errors=(OSError,))[0] == 2  # qamoe-live's devices


def test_help_and_a_missing_file_answer_before_torch_loads():
    """Issue 19: `qamoe-predict --help` imported torch (4 s); a missing file was reported after loading
    every model (7-16 s). Both now answer from the argument check alone."""
    import subprocess
    import sys

    probe = ("import sys\nfrom qamoe.cli.predict import main\n"
             "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
             "print('CODE', code, 'TORCH', 'torch' in sys.modules)")
    for argv, code in ((["--help"], 0), (["nothere.mp4"], 2), ([], 2)):
        out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=60).stdout
        assert f"CODE {code} TORCH False" in out, (argv, out)


def test_live_and_train_answer_help_and_bad_flags_before_torch_loads():
    """Issue 19's budget for every command: qamoe-live --help took 4.1 s, qamoe-train --help 6.0 s
    (both imported torch to print their help)."""
    import subprocess
    import sys

    for command in ("live", "train"):
        probe = (f"import sys\nfrom qamoe.cli.{command} import main\n"
                 "try:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n    code = e.code\n"
                 "print('CODE', code, 'TORCH', 'torch' in sys.modules)")
        for argv, code in ((["--help"], 0), (["--no-such-flag"], 2)):
            out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=60).stdout
            assert f"CODE {code} TORCH False" in out, (command, argv, out)

