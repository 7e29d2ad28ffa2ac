"""Decoding real and damaged files: timestamps, clip ranges, missing streams, corruption."""

import numpy as np
import pytest

from support.media import read_frames, speak, write_media
from support.require import need_module


@pytest.fixture(scope="module", autouse=True)
def _av():
    need_module("av")


def test_streams_rates_and_clip_ranges(media_dir):
    from qamoe.extractors.decode import MediaReader

    reader = MediaReader(media_dir / "WolfgangLanger_Pexels.mp4")
    info = reader.info
    assert info.has_audio and info.has_video and info.duration == pytest.approx(19.7, abs=0.1)
    assert info.fps == pytest.approx(23.976, abs=0.01) and (info.width, info.height) == (640, 360)
    audio = list(reader.audio(5.0, 7.5))
    assert audio[0].t == pytest.approx(5.0) and all(c.rate == 16000 for c in audio)
    assert sum(len(c.samples) for c in audio) == pytest.approx(2.5 * 16000, abs=2)
    assert all(a.t < b.t for a, b in zip(audio, audio[1:]))
    video = list(reader.video(5.0, 7.5))
    assert 5.0 <= video[0].t < 5.05 and video[-1].t < 7.5
    assert len(video) == pytest.approx(2.5 * 23.976, abs=1)
    assert video[0].image.shape == (360, 640, 3) and video[0].image.dtype == np.uint8
    assert reader.warnings == []


def test_variable_frame_rate_keeps_true_times(media_dir):
    from qamoe.extractors.decode import MediaReader

    frames = list(MediaReader(media_dir / "noface_face.mov").video())
    times = np.array([f.t for f in frames])
    assert len(frames) == 169 and (np.diff(times) > 0).all()
    assert times[-1] == pytest.approx(6.35, abs=0.05)  # 169 frames over 6.4 s: not 169 / 120 fps


def test_no_audio_and_no_video_tracks(media_dir, tmp_path):
    from qamoe.extractors.decode import MediaReader

    silent_video = write_media(tmp_path / "video_only.mp4", read_frames(media_dir / "single_face.mp4", 1.0))
    reader = MediaReader(silent_video)
    assert reader.info.has_video and not reader.info.has_audio
    assert list(reader.audio()) == [] and len(list(reader.video())) > 20
    audio_only = write_media(tmp_path / "audio_only.m4a", None, speak("hello"))
    reader = MediaReader(audio_only)
    assert reader.info.has_audio and not reader.info.has_video and list(reader.video()) == []
    assert sum(len(c.samples) for c in reader.audio()) > 8000


def test_unreadable_files_give_a_clear_error(tmp_path):
    from qamoe.extractors.decode import MediaError, MediaReader

    (tmp_path / "junk.mp4").write_bytes(b"this is not a video" * 100)
    with pytest.raises(MediaError, match="junk.mp4: cannot open media"):
        MediaReader(tmp_path / "junk.mp4")
    with pytest.raises(MediaError, match="no such file"):
        MediaReader(tmp_path / "absent.mp4")
    (tmp_path / "empty.mp4").write_bytes(b"")
    with pytest.raises(MediaError):
        MediaReader(tmp_path / "empty.mp4")


def test_truncated_stream_keeps_what_was_decoded(media_dir, tmp_path):
    from qamoe.extractors.decode import MediaReader

    frames = read_frames(media_dir / "single_face.mp4")
    whole = write_media(tmp_path / "whole.mkv", frames, speak("one two three four five six seven"))
    data = whole.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: len(data) // 2])
    reader = MediaReader(cut)
    video = list(reader.video())
    audio = list(reader.audio())
    assert 5 < len(video) < len(frames)  # the first part survives
    assert all(np.isfinite(c.samples).all() for c in audio)


def test_corrupt_packets_are_skipped_and_the_rest_kept(media_dir, tmp_path):
    from qamoe.extractors.decode import MediaReader

    frames = read_frames(media_dir / "single_face.mp4")
    whole = write_media(tmp_path / "whole.mp4", frames, speak("one two three four five six seven"))
    data = bytearray(whole.read_bytes())
    data[len(data) // 3 : len(data) // 3 + 4000] = bytes(4000)  # zeros over a third of the way in
    (tmp_path / "broken.mp4").write_bytes(bytes(data))
    reader = MediaReader(tmp_path / "broken.mp4")
    video = list(reader.video())
    audio = list(reader.audio())
    assert len(video) >= 0.9 * len(frames) and video[-1].t > 2.0  # frames after the damage survive
    assert np.diff([f.t for f in video]).min() > 0
    assert sum(len(c.samples) for c in audio) > 1.5 * 16000
    assert any("undecodable" in w for w in reader.warnings)
