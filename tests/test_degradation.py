import torch

from qamoe.config import CONTINUOUS, TOKENS, ModalitySpec
from qamoe.degradation import degrade, remove_modalities

SPECS = (ModalitySpec("text", 4, TOKENS), ModalitySpec("audio", 3, CONTINUOUS))


def batch(b=2000, t=10):
    features = {"text": torch.ones(b, t, 4), "audio": torch.zeros(b, t, 3)}
    lengths = {"text": torch.full((b,), 6), "audio": torch.full((b,), 8)}
    return features, lengths


SIGMA = {"text": torch.ones(4), "audio": torch.tensor([1.0, 2.0, 0.5])}


def run(noise, missing, seed=0, **kw):
    f, n = batch(**kw)
    return degrade(f, n, modalities=SPECS, sigma_ref=SIGMA, noise=noise, missing_rate=missing,
                   generator=torch.Generator().manual_seed(seed))


def test_gaussian_noise_has_std_lambda_times_sigma_ref_on_valid_frames_only():
    out = run(0.5, 0.0)
    audio = out.features["audio"]
    valid = audio[:, :8]
    torch.testing.assert_close(valid.std(dim=(0, 1)), 0.5 * SIGMA["audio"], atol=0.01, rtol=0.02)
    assert abs(float(valid.mean())) < 0.01
    assert torch.equal(audio[:, 8:], torch.zeros_like(audio[:, 8:]))


def test_token_dropout_zeroes_tokens_with_probability_lambda():
    out = run(0.3, 0.0)
    tokens = out.features["text"][:, :6]
    dropped = (tokens.abs().sum(-1) == 0).float().mean()
    assert abs(float(dropped) - 0.3) < 0.01
    # a token is dropped whole, never partly
    per_token = (out.features["text"] == 0).sum(-1)
    assert set(per_token.unique().tolist()) <= {0, 4}
    # padding frames are untouched (they were ones here)
    assert torch.equal(out.features["text"][:, 6:], torch.ones(2000, 4, 4))


def test_missingness_zeroes_whole_modality_with_probability_eta_and_sets_length_one():
    out = run(0.0, 0.4)
    for name in ("text", "audio"):
        gone = out.missing[name]
        assert abs(float(gone.float().mean()) - 0.4) < 0.03
        assert torch.equal(out.lengths[name][gone], torch.ones(int(gone.sum()), dtype=torch.long))
        assert out.features[name][gone].abs().sum() == 0
    assert not torch.equal(out.missing["text"], out.missing["audio"])  # independent per modality


def test_zero_levels_change_nothing():
    f, n = batch(b=10)
    out = degrade(f, n, modalities=SPECS, sigma_ref=SIGMA, noise=0.0, missing_rate=0.0, generator=torch.Generator())
    assert torch.equal(out.features["text"], f["text"]) and torch.equal(out.features["audio"], f["audio"])


def test_same_seed_same_result_and_inputs_untouched():
    f, n = batch(b=50)
    before = {k: v.clone() for k, v in f.items()}
    a = degrade(f, n, modalities=SPECS, sigma_ref=SIGMA, noise=0.7, missing_rate=0.3, generator=torch.Generator().manual_seed(5))
    b = degrade(f, n, modalities=SPECS, sigma_ref=SIGMA, noise=0.7, missing_rate=0.3, generator=torch.Generator().manual_seed(5))
    c = degrade(f, n, modalities=SPECS, sigma_ref=SIGMA, noise=0.7, missing_rate=0.3, generator=torch.Generator().manual_seed(6))
    assert all(torch.equal(a.features[k], b.features[k]) for k in f)
    assert not torch.equal(a.features["audio"], c.features["audio"])
    assert all(torch.equal(f[k], before[k]) for k in f)


def test_per_sample_per_modality_levels():
    f, n = batch(b=4)
    noise = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    out = degrade(f, n, modalities=SPECS, sigma_ref=SIGMA, noise=noise, missing_rate=0.0, generator=torch.Generator().manual_seed(0))
    assert out.features["audio"][0].abs().sum() == 0 and out.features["audio"][1].abs().sum() > 0
    assert torch.equal(out.noise["audio"], noise[:, 1])


def test_remove_modalities_marks_every_sample_missing():
    out = remove_modalities(run(0.0, 0.0, b=3), {"audio"})
    assert out.missing["audio"].all() and not out.missing["text"].any()
    assert out.features["audio"].abs().sum() == 0
