import math

import torch

from qamoe.loss import heteroscedastic_nll


def test_nll_matches_hand_computation():
    pred = torch.tensor([0.0, 1.0, -2.0])
    s = torch.tensor([0.0, math.log(4.0), -1.0])
    y = torch.tensor([1.0, 3.0, -2.0])
    # per sample: 0.5*e^-s*(y-yhat)^2 + 0.5*s
    expected = (0.5 * 1 * 1 + 0) + (0.5 * 0.25 * 4 + 0.5 * math.log(4.0)) + (0.5 * math.e * 0 - 0.5)
    assert abs(float(heteroscedastic_nll(pred, s, y)) - expected / 3) < 1e-6


def test_nll_is_minimised_at_log_variance_equal_to_log_squared_error():
    pred, y = torch.tensor([0.0]), torch.tensor([2.0])
    s = torch.linspace(-2, 4, 601, dtype=torch.float64)
    losses = torch.stack([heteroscedastic_nll(pred.double(), v.reshape(1), y.double()) for v in s])
    assert abs(float(s[losses.argmin()]) - math.log(4.0)) < 0.011


def test_unimodal_term_pushes_variance_toward_each_modalitys_squared_error(small_config):
    from qamoe.loss import unimodal_loss
    from qamoe.model import QAMoEOutput

    target = torch.tensor([2.0, -1.0])
    pred = {"text": torch.tensor([2.0, -1.0]), "audio": torch.tensor([0.0, 0.0])}
    logvar = {name: torch.zeros(2, requires_grad=True) for name in pred}
    out = QAMoEOutput(torch.zeros(2), torch.zeros(2), {}, {}, {}, pred, logvar)
    unimodal_loss(out, target, small_config).backward()
    # a perfect modality is told to lower its variance (raise r), a wrong one to raise it
    assert (logvar["text"].grad > 0).all()
    assert logvar["audio"].grad[0] < 0
