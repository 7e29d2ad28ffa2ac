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


# ---------------------------------------------------------------- audio given as an array (issue 20, class 6)


def test_integer_pcm_is_rescaled_not_clipped():
    from qamoe.extractors.decode import audio_from_array

    x = (0.5 * np.sin(np.arange(16000) / 5)).astype(np.float32)
    for dtype, full, centre in ((np.int16, 32768, 0), (np.int32, 2**31, 0), (np.uint8, 128, 128)):
        pcm = np.round(x * (full - 1) + centre).astype(dtype)
        mono, rate = audio_from_array(pcm, 16000)
        assert mono.dtype == np.float32 and rate == 16000
        np.testing.assert_allclose(mono, x, atol=2 / full + 1e-6)  # the same waveform, not a clipped square


def test_channels_are_averaged_on_either_axis():
    from qamoe.extractors.decode import audio_from_array

    left = np.linspace(-0.5, 0.5, 8000, dtype=np.float32)
    right = np.zeros(8000, np.float32)
    for stereo in (np.stack([left, right], axis=1), np.stack([left, right], axis=0)):  # (n, 2) and (2, n)
        mono, _ = audio_from_array(stereo, 16000)
        assert mono.shape == (8000,)
        np.testing.assert_allclose(mono, left / 2, atol=1e-7)
    eight = np.repeat(left[:, None], 8, axis=1)  # 8 identical channels: as loud as one
    np.testing.assert_allclose(audio_from_array(eight, 16000)[0], left, atol=1e-7)


@pytest.mark.parametrize("samples, rate, message", [
    (np.array([0.1, np.nan, 0.2], np.float32), 16000, "1 NaN or infinite"),
    (np.array([0.1, np.inf], np.float64), 16000, "NaN or infinite"),
    (np.full(100, 30000.0, np.float32), 16000, "PCM integers stored as floats"),
    (np.zeros(100, np.float32), 0, "sample_rate"),
    (np.zeros(100, np.float32), -16000, "sample_rate"),
    (np.zeros(100, np.float32), float("nan"), "sample_rate"),
    (np.zeros(100, np.float32), 16000.5, "sample_rate"),
    (np.zeros(100, np.float32), "fast", "sample_rate must be a number"),
    (np.zeros(0, np.float32), 16000, "non-empty"),
    (np.zeros((3, 3, 3), np.float32), 16000, "shape"),
    (np.zeros((64, 64), np.float32), 16000, "at most 32 channels"),
    (np.array(["a", "b"]), 16000, "array of numbers"),
    (b"RIFF....", 16000, "not bytes"),
    (0.5, 16000, "not float"),
])
def test_audio_that_is_not_audio_is_refused_with_the_reason(samples, rate, message):
    from qamoe.extractors.decode import audio_from_array

    with pytest.raises(ValueError, match=message):
        audio_from_array(samples, rate)


def test_a_float_wav_round_trips_an_array_exactly(tmp_path):
    need_module("av")
    from qamoe.extractors.decode import read_audio, write_float_wav

    x = (0.3 * np.random.default_rng(0).standard_normal(16000)).clip(-1, 1).astype(np.float32)
    write_float_wav(tmp_path / "x.wav", x, 16000)
    y, t0 = read_audio(tmp_path / "x.wav")
    assert t0 == 0.0
    np.testing.assert_array_equal(y, x)


def test_audio_in_memory_is_read_as_the_same_samples_in_a_file_are(tmp_path):
    """One entry point for a path or an array (issue 21): `AudioArray` goes through the same decoder and
    resampler as a file, with no file written, and gives the same chunks, at 16 kHz and resampled."""
    need_module("av")
    from qamoe.extractors.decode import AudioArray, MediaReader, write_float_wav

    rng = np.random.default_rng(1)
    for rate in (16000, 44100):
        pcm = (rng.standard_normal((rate, 2)) * 3000).astype(np.int16)  # 1 s of stereo 16-bit PCM
        memory = AudioArray.of(pcm, rate, name="probe")
        write_float_wav(tmp_path / f"x{rate}.wav", memory.samples, rate)
        from_file = list(MediaReader(tmp_path / f"x{rate}.wav").audio())
        from_memory = list(MediaReader(memory).audio())
        assert [c.t for c in from_memory] == [c.t for c in from_file]
        np.testing.assert_array_equal(np.concatenate([c.samples for c in from_memory]),
                                      np.concatenate([c.samples for c in from_file]))
        assert MediaReader(memory).info.duration is not None and MediaReader(memory).path == "probe"
    with pytest.raises(ValueError, match="NaN"):
        AudioArray.of(np.full(100, np.nan, np.float32), 16000)


def test_a_multichannel_file_is_as_loud_as_its_mono(tmp_path):
    av = need_module("av")
    from qamoe.extractors.decode import read_audio

    tone = (0.3 * np.sin(2 * np.pi * 220 * np.arange(16000) / 16000)).astype(np.float32)
    levels = {}
    for channels, layout in ((1, "mono"), (2, "stereo"), (6, "5.1")):
        path = tmp_path / f"{layout}.wav"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("pcm_f32le", rate=16000)
            stream.layout = layout
            frame = av.AudioFrame.from_ndarray(np.repeat(tone[None], channels, 0).copy(), format="fltp", layout=layout)
            frame.sample_rate, frame.pts = 16000, 0
            for packet in [*stream.encode(frame), *stream.encode(None)]:
                container.mux(packet)
        samples, _ = read_audio(path)
        levels[layout] = float(np.sqrt(np.mean(samples**2)))
    assert levels["stereo"] == pytest.approx(levels["mono"], rel=1e-3)
    assert levels["5.1"] == pytest.approx(levels["mono"], rel=1e-3)  # FFmpeg's own downmix made it louder
