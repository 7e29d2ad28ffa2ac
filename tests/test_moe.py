import torch

from qamoe.moe import GLUExpert, MixtureOfExperts, TopKRouter, load_balance_loss


def make_moe(d=8, n=6, k=2):
    torch.manual_seed(3)
    return MixtureOfExperts(
        router=TopKRouter(d, n, k), experts=torch.nn.ModuleList(GLUExpert(d, 16, 0.0) for _ in range(n))
    )


def test_router_keeps_exactly_k_experts_and_renormalises():
    moe = make_moe()
    x = torch.randn(10, 8)
    _, gates, probs = moe(x)
    assert ((gates > 0).sum(-1) == 2).all()
    torch.testing.assert_close(gates.sum(-1), torch.ones(10))
    torch.testing.assert_close(probs.sum(-1), torch.ones(10))
    # the kept experts are the two most probable ones
    assert torch.equal(gates.topk(2).indices.sort().values, probs.topk(2).indices.sort().values)


def test_sparse_output_equals_dense_weighted_sum_over_selected_experts():
    moe = make_moe()
    x = torch.randn(10, 8)
    out, gates, _ = moe(x)
    dense = sum(gates[:, i, None] * expert(x) for i, expert in enumerate(moe.experts))
    torch.testing.assert_close(out, dense)


def test_unselected_experts_get_no_gradient_from_a_sample():
    moe = make_moe(n=6, k=1)
    x = torch.randn(1, 8)
    out, gates, _ = moe(x)
    out.sum().backward()
    chosen = int(gates[0].argmax())
    for i, expert in enumerate(moe.experts):
        has_grad = expert.out.weight.grad is not None and expert.out.weight.grad.abs().sum() > 0
        assert has_grad == (i == chosen)


def test_glu_expert_matches_its_formula():
    torch.manual_seed(0)
    e = GLUExpert(4, 6, 0.0)
    x = torch.randn(3, 4)
    expected = e.out((x @ e.value.weight.T + e.value.bias) * torch.sigmoid(x @ e.gate.weight.T + e.gate.bias))
    torch.testing.assert_close(e(x), expected)


def test_load_balance_is_one_when_uniform_and_larger_when_collapsed():
    n = 4
    uniform_probs = torch.full((8, n), 1 / n)
    uniform_gates = torch.eye(n).repeat(2, 1)  # each expert chosen twice
    assert abs(float(load_balance_loss(uniform_gates, uniform_probs)) - 1.0) < 1e-6
    collapsed_probs = torch.tensor([[0.97, 0.01, 0.01, 0.01]]).repeat(8, 1)
    collapsed_gates = torch.zeros(8, n)
    collapsed_gates[:, 0] = 1
    assert float(load_balance_loss(collapsed_gates, collapsed_probs)) > 3.5


def test_mixture_runs_under_bf16_autocast_where_the_router_softmax_stays_float32():
    # the dtype mix of CUDA autocast: Linear layers in bf16, softmax in float32; index_add refuses
    # mixed dtypes, on the CPU as on the GPU
    torch.manual_seed(0)
    d, n, k = 8, 4, 2
    moe = MixtureOfExperts(
        router=TopKRouter(d, n, k), experts=torch.nn.ModuleList(GLUExpert(d, 16, 0.0) for _ in range(n))
    )
    x = torch.randn(5, d)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, gates, _ = moe(x.to(torch.bfloat16))
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()
    reference, _, _ = moe(x)
    torch.testing.assert_close(out.float(), reference, atol=0.1, rtol=0.1)
