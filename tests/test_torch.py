"""Tests of the torch backend (normtest.torch): values, gradients, precision, SIGReg, distributed."""

import importlib.util
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import normtest  # noqa: E402
import normtest.torch as nt  # noqa: E402
import normtest.torch._autograd as ntag  # noqa: E402  (private internals)
from normtest.ecf.rules import custom_rule, get_rule  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from naive_torch import (  # noqa: E402
    exact_simple_1d,
    quad_stat_1d,
    rule_arrays,
    sliced_stats,
    standardize_1d,
    torch_materialised,
)

pytestmark = pytest.mark.torch

RULES = ["lejepa", "paper", "gauss-hermite", "custom"]


@pytest.fixture(autouse=True)
def _torch_state():
    """Modest threads; no global torch state may leak out of a test."""
    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_num_threads(1)  # the CI machine is small and shared: one thread is fastest
    yield
    torch.set_num_threads(threads)
    assert torch.get_default_dtype() == dtype


def _rule(name):
    if name == "custom":  # irregular nodes: exercises the direct cos/sin path
        return custom_rule([0.3, 0.7, 1.6, 2.9], [0.2, 0.3, 0.25, 0.05])
    return get_rule(name)


# ------------------------------------------------------------------------------------------
# values against the naive references
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("rule_name", RULES)
@pytest.mark.parametrize("standardize", [False, True])
def test_epps_pulley_matches_naive(rng, rule_name, standardize):
    rule = _rule(rule_name)
    nodes, weights = rule_arrays(rule)
    x = rng.standard_normal((300, 3)) * [1.0, 1.5, 0.7] + [0.0, 0.3, -0.2]
    got = nt.epps_pulley(torch.as_tensor(x), standardize=standardize, quadrature=rule).numpy()
    ref = [quad_stat_1d(standardize_1d(c) if standardize else c, nodes, weights) for c in x.T]
    np.testing.assert_allclose(got, ref, rtol=1e-12)


def test_auto_rule_equals_exact_closed_form(rng):
    # "auto" is exact (1e-10) for the data it is sized for: compare with the O(n^2) closed form
    x = rng.standard_normal(400) * 1.3 + 0.2
    got = float(nt.epps_pulley(torch.as_tensor(x), standardize=False))
    np.testing.assert_allclose(got, exact_simple_1d(x), rtol=1e-9)
    got = float(nt.epps_pulley(torch.as_tensor(x), standardize=True, beta=0.7))
    np.testing.assert_allclose(got, exact_simple_1d(standardize_1d(x), beta=0.7), rtol=1e-9)


@pytest.mark.parametrize("rule_name", RULES)
@pytest.mark.parametrize("standardize", [False, True])
def test_sliced_matches_naive(rng, rule_name, standardize):
    rule = _rule(rule_name)
    nodes, weights = rule_arrays(rule)
    X = rng.standard_normal((250, 5)) @ np.diag([1.0, 2.0, 0.5, 1.0, 1.2]) + 0.1
    A = rng.standard_normal((5, 7))
    got = nt.sliced_epps_pulley(torch.as_tensor(X), directions=A, standardize=standardize,
                                quadrature=rule, reduction="none").numpy()
    ref = sliced_stats(X, A, nodes, weights, standardize=standardize)
    np.testing.assert_allclose(got, ref, rtol=1e-11)
    got_mean = float(nt.sliced_epps_pulley(torch.as_tensor(X), directions=A, standardize=standardize,
                                           quadrature=rule))
    np.testing.assert_allclose(got_mean, ref.mean(), rtol=1e-11)


def test_float32_within_1e5_of_float64(rng):
    X = rng.standard_normal((4000, 16))
    A = rng.standard_normal((16, 32))
    for q in ["lejepa", "paper", "auto"]:
        ref = nt.sliced_epps_pulley(torch.as_tensor(X), directions=A, quadrature=q, reduction="none")
        got = nt.sliced_epps_pulley(torch.as_tensor(X, dtype=torch.float32), directions=A, quadrature=q,
                                    reduction="none")
        assert got.dtype == torch.float32
        np.testing.assert_allclose(got.double().numpy(), ref.numpy(), rtol=0, atol=1e-5)
    y = torch.as_tensor(X[:, 0])
    for st in (False, True):
        ref = nt.epps_pulley(y, standardize=st, quadrature="lejepa")
        got = nt.epps_pulley(y.float(), standardize=st, quadrature="lejepa")
        np.testing.assert_allclose(float(got), float(ref), rtol=0, atol=1e-5)


def test_batch_dims_like_slicing_test(rng):
    X = rng.standard_normal((2, 3, 120, 4))
    A = rng.standard_normal((4, 6))
    rule = get_rule("lejepa")
    nodes, weights = rule_arrays(rule)
    got = nt.sliced_epps_pulley(torch.as_tensor(X), directions=A, quadrature="lejepa", reduction="none")
    assert got.shape == (2, 3, 6)
    for i in range(2):
        for j in range(3):
            ref = sliced_stats(X[i, j], A, nodes, weights)
            np.testing.assert_allclose(got[i, j].numpy(), ref, rtol=1e-11)
    # 1-d: samples along dim -2 for (*, N, D); per-column, per-batch statistics
    got1 = nt.epps_pulley(torch.as_tensor(X), standardize=True, quadrature="paper")
    assert got1.shape == (2, 3, 4)
    nodes_p, weights_p = rule_arrays(get_rule("paper"))
    np.testing.assert_allclose(float(got1[1, 2, 3]), quad_stat_1d(standardize_1d(X[1, 2, :, 3]), nodes_p,
                                                                   weights_p), rtol=1e-11)
    # an explicit dim, and a view that is not contiguous
    xt = torch.as_tensor(X).transpose(-1, -2)  # (2, 3, 4, 120)
    np.testing.assert_allclose(nt.epps_pulley(xt, dim=-1, standardize=True, quadrature="paper").numpy(),
                               got1.numpy(), rtol=1e-12)


def test_chunking_does_not_change_values_or_gradients(rng, monkeypatch):
    X = torch.tensor(rng.standard_normal((333, 6)), requires_grad=True)
    A = rng.standard_normal((6, 5))
    for q in ["lejepa", "auto", custom_rule([0.4, 1.1, 2.0], [0.3, 0.2, 0.1])]:
        v1 = nt.sliced_epps_pulley(X, directions=A, quadrature=q)
        (g1,) = torch.autograd.grad(v1, X)
        monkeypatch.setattr(ntag, "_SERIAL_CHUNK", 100)  # chunks of 20 (lattice) or 6 (direct) rows
        monkeypatch.setattr(ntag, "_BLOCK_ELEMENTS", 500)  # in GEMM blocks of 100 or 96 rows
        v2 = nt.sliced_epps_pulley(X, directions=A, quadrature=q)
        (g2,) = torch.autograd.grad(v2, X)
        monkeypatch.undo()
        np.testing.assert_allclose(v2.item(), v1.item(), rtol=1e-12)
        np.testing.assert_allclose(g2.numpy(), g1.numpy(), rtol=1e-10, atol=1e-14)


def test_input_not_mutated_and_reduction(rng):
    X = torch.as_tensor(rng.standard_normal((100, 3)))
    before = X.clone()
    none = nt.sliced_epps_pulley(X, n_slices=9, rng=3, reduction="none", standardize=True)
    assert torch.equal(X, before)
    for red, f in [("mean", torch.mean), ("sum", torch.sum), ("max", torch.amax)]:
        v = nt.sliced_epps_pulley(X, n_slices=9, rng=3, reduction=red, standardize=True)
        np.testing.assert_allclose(float(v), float(f(none)), rtol=1e-13)


# ------------------------------------------------------------------------------------------
# parity with the NumPy functions (same presets, defaults, directions)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("quadrature", ["auto", "lejepa", "paper"])
@pytest.mark.parametrize("standardize", [True, False])
def test_parity_numpy_epps_pulley(rng, quadrature, standardize):
    # composite null: any location/scale; simple null: H0-scale data, where the float32
    # tolerance (1e-5 absolute) is meaningful (a statistic of 40 has a float32 ulp of 4e-6)
    x = rng.standard_normal((500, 3)) * (1.4 if standardize else 1.0) + (0.3 if standardize else 0.0)
    ref = normtest.epps_pulley(x, standardize=standardize, quadrature=quadrature, axis=0)
    got = nt.epps_pulley(torch.as_tensor(x), standardize=standardize, quadrature=quadrature)
    np.testing.assert_allclose(got.numpy(), np.asarray(ref.statistic), rtol=1e-9)
    got32 = nt.epps_pulley(torch.as_tensor(x, dtype=torch.float32), standardize=standardize,
                           quadrature=quadrature)
    np.testing.assert_allclose(got32.double().numpy(), np.asarray(ref.statistic), rtol=0, atol=1e-5)


@pytest.mark.parametrize("quadrature", ["auto", "lejepa", "paper"])
@pytest.mark.parametrize("standardize", [False, True])
def test_parity_numpy_sliced(rng, quadrature, standardize):
    X = rng.standard_normal((600, 6)) @ rng.standard_normal((6, 6)) * 0.5
    A = rng.standard_normal((6, 20))
    ref = normtest.sliced_epps_pulley(X, directions=A, standardize=standardize,
                         quadrature=quadrature)
    got = nt.sliced_epps_pulley(torch.as_tensor(X), directions=A, standardize=standardize,
                                quadrature=quadrature)
    np.testing.assert_allclose(float(got), float(ref.statistic), rtol=1e-9)
    got32 = nt.sliced_epps_pulley(torch.as_tensor(X, dtype=torch.float32), directions=A,
                                  standardize=standardize, quadrature=quadrature)
    np.testing.assert_allclose(float(got32), float(ref.statistic), rtol=0, atol=1e-5)


def test_parity_numpy_sliced_same_seed_same_directions(rng):
    X = rng.standard_normal((400, 5))
    ref = normtest.sliced_epps_pulley(X, n_slices=12, rng=7, quadrature="lejepa")
    got = nt.sliced_epps_pulley(torch.as_tensor(X), n_slices=12, rng=7, quadrature="lejepa")
    np.testing.assert_allclose(float(got), float(ref.statistic), rtol=1e-9)


# ------------------------------------------------------------------------------------------
# gradients
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("q", ["lejepa", "paper", "custom"])
def test_gradcheck_sums_all_inputs(rng, q):
    rule = _rule(q)
    t = torch.tensor(np.array(rule.nodes))
    x = torch.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    A = torch.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    scale = torch.tensor(rng.uniform(0.5, 1.5, (2, 1, 2)), requires_grad=True)
    shift = torch.tensor(rng.standard_normal((1, 1, 2)), requires_grad=True)

    def f(x, A, scale, shift):
        return ntag.EcfSums.apply(x, A, scale, shift, t, rule.lattice_step)

    assert torch.autograd.gradcheck(f, (x, A, scale, shift))


@pytest.mark.parametrize("standardize", [False, True])
def test_gradcheck_public_functions(rng, standardize):
    x = torch.tensor(rng.standard_normal((9, 3)), requires_grad=True)
    A = rng.standard_normal((3, 4))
    assert torch.autograd.gradcheck(
        lambda x: nt.sliced_epps_pulley(x, directions=A, standardize=standardize, quadrature="lejepa"), (x,))
    assert torch.autograd.gradcheck(
        lambda x: nt.epps_pulley(x, standardize=standardize, quadrature="paper"), (x,))
    assert torch.autograd.gradcheck(lambda x: nt.epps_pulley(x, standardize=standardize), (x,))


def test_inverse_sqrt_backward_with_repeated_eigenvalues():
    # identity covariance: eigh's own backward divides by l_i - l_j = 0; ours must not
    S = torch.eye(4, dtype=torch.float64).requires_grad_(True)
    R = ntag.InvSqrtPSD.apply(S)
    (g,) = torch.autograd.grad((R * torch.arange(16.0, dtype=torch.float64).reshape(4, 4)).sum(), S)
    assert torch.isfinite(g).all()
    # finite differences with a symmetric perturbation
    W = torch.arange(16.0, dtype=torch.float64).reshape(4, 4)
    E = torch.zeros(4, 4, dtype=torch.float64)
    E[1, 2] = E[2, 1] = 1.0
    eps = 1e-6

    def f(S):
        lam, V = torch.linalg.eigh(S)
        return ((V / lam.sqrt()) @ V.T * W).sum()

    fd = (f(S.detach() + eps * E) - f(S.detach() - eps * E)) / (2 * eps)
    np.testing.assert_allclose(float((g * E).sum()), float(fd), rtol=1e-7)


@pytest.mark.parametrize("q", ["lejepa", "paper"])
def test_gradients_equal_plain_autograd(rng, q):
    nodes, weights = rule_arrays(get_rule(q))
    X = torch.tensor(rng.standard_normal((2, 200, 8)) * 1.3, requires_grad=True)
    A = torch.as_tensor(rng.standard_normal((8, 16)))
    A = A / A.norm(dim=0)
    ref = torch_materialised(X, A, nodes, weights).mean()
    (gref,) = torch.autograd.grad(ref, X)
    got = nt.sliced_epps_pulley(X, directions=A, quadrature=q).sum() / 2
    (g,) = torch.autograd.grad(got, X)
    np.testing.assert_allclose(got.item(), ref.item(), rtol=1e-12)
    np.testing.assert_allclose(g.numpy(), gref.numpy(), rtol=1e-9, atol=1e-13)


def test_gradient_central_differences(rng):
    x = torch.as_tensor(rng.standard_normal((50, 2)))
    A = rng.standard_normal((2, 3))

    def f(x):
        return nt.sliced_epps_pulley(x, directions=A, quadrature="lejepa", standardize=True)

    xg = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(xg), xg)
    eps = 1e-6
    for idx in [(0, 0), (17, 1), (49, 0)]:
        e = torch.zeros_like(x)
        e[idx] = eps
        fd = (f(x + e) - f(x - e)) / (2 * eps)
        np.testing.assert_allclose(float(g[idx]), float(fd), rtol=1e-6, atol=1e-9)


# ------------------------------------------------------------------------------------------
# precision: bf16 and autocast
# ------------------------------------------------------------------------------------------
def test_bf16_within_half_percent_at_16384():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(16384, 32, generator=g).bfloat16()  # H0 data, bf16-rounded
    A = torch.randn(32, 64, generator=g)
    ref = nt.sliced_epps_pulley(x.float(), directions=A, quadrature="lejepa")
    got = nt.sliced_epps_pulley(x, directions=A, quadrature="lejepa")
    assert got.dtype == torch.float32
    assert abs(float(got) / float(ref) - 1) < 0.005
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got_ac = nt.sliced_epps_pulley(x.float(), directions=A, quadrature="lejepa")
        loss = nt.SIGReg(n_slices=64, directions=A)(x.float())
    assert abs(float(got_ac) / float(ref) - 1) < 0.005
    assert abs(float(loss) / float(ref) - 1) < 0.005
    # what an all-bf16 pipeline (projections and sums in bf16) would give: visibly worse
    nodes, weights = rule_arrays(get_rule("lejepa"))
    A_unit = (A / A.norm(dim=0)).bfloat16()
    bad = torch_materialised(x[:4096], A_unit, nodes, weights).float().mean()
    ref4 = nt.sliced_epps_pulley(x[:4096].float(), directions=A, quadrature="lejepa")
    assert abs(float(bad) / float(ref4) - 1) > 0.005


def test_bf16_gradient_dtype():
    x = torch.randn(256, 8).bfloat16().requires_grad_(True)
    v = nt.sliced_epps_pulley(x, n_slices=16, rng=0, quadrature="lejepa")
    v.backward()
    assert x.grad.dtype == torch.bfloat16 and torch.isfinite(x.grad.float()).all()


# ------------------------------------------------------------------------------------------
# SIGReg
# ------------------------------------------------------------------------------------------
def test_sigreg_matches_function_and_buffers(rng):
    X = torch.as_tensor(rng.standard_normal((300, 10)), dtype=torch.float32)
    A = rng.standard_normal((10, 24))
    for q in ["lejepa", "paper"]:
        for red in ["mean", "sum", "none"]:
            m = nt.SIGReg(quadrature=q, reduction=red, directions=A)
            got = m(X)
            ref = nt.sliced_epps_pulley(X, directions=A, quadrature=q, reduction=red)
            np.testing.assert_allclose(got.detach().numpy(), ref.numpy(), rtol=1e-6)
    m = nt.SIGReg()
    names = set(dict(m.named_buffers()))
    assert {"nodes", "weights", "step"} <= names and "directions" not in names
    assert {"nodes", "weights", "step"} <= set(m.state_dict())
    m64 = nt.SIGReg(n_slices=8).to(torch.float64)
    assert m64.nodes.dtype == torch.float64 and m64.step.dtype == torch.int64
    half = nt.SIGReg(n_slices=8, directions=A).half()  # a model-wide .half() must not round the rule
    assert half.nodes.dtype == half.weights.dtype == half.directions.dtype == torch.float64
    np.testing.assert_array_equal(half.weights.numpy(), get_rule("lejepa").weights)
    np.testing.assert_allclose(half(X).item(), nt.SIGReg(directions=A)(X).item(), rtol=1e-6)


def test_sigreg_steps_and_resume():
    m = nt.SIGReg(n_slices=16, seed=3)
    x = torch.randn(128, 5, generator=torch.Generator().manual_seed(1))
    A0 = m.current_directions(5, "cpu")
    v0 = m(x)
    assert int(m.step) == 1
    A1 = m.current_directions(5, "cpu")
    assert not torch.equal(A0, A1)
    np.testing.assert_allclose(A1.norm(dim=0).numpy(), 1.0, rtol=1e-6)
    state = {k: v.clone() for k, v in m.state_dict().items()}  # state_dict shares storage
    v1 = m(x)
    m2 = nt.SIGReg(n_slices=16, seed=3)
    m2.load_state_dict(state)
    assert torch.equal(m2(x), v1)  # resumed: same directions at the same step
    assert float(v0) != float(v1)
    assert not torch.equal(nt.SIGReg(n_slices=16, seed=4).current_directions(5, "cpu"), A0)
    # the loss with the directions it reports equals the functional form
    m3 = nt.SIGReg(n_slices=16, seed=3)
    A = m3.current_directions(5, "cpu")
    np.testing.assert_allclose(float(m3(x)), float(nt.sliced_epps_pulley(x, directions=A,
                                                                          quadrature="lejepa")), rtol=1e-6)


def test_sigreg_trains_towards_gaussian():
    g = torch.Generator().manual_seed(0)
    torch.manual_seed(0)
    X = torch.rand(256, 4, generator=g) * 6 - 3
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    loss_fn = nt.SIGReg(n_slices=16)
    opt = torch.optim.Adam(model.parameters(), lr=0.03)
    first = None
    for _ in range(40):
        opt.zero_grad()
        loss = loss_fn(model(X))
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
    assert loss.item() < 0.3 * first


def test_sigreg_null_mean():
    # E Q = sum_k omega_k (1 - exp(-t_k^2)) exactly under H0 (docs/theory.md §3), any n
    rule = get_rule("lejepa")
    m = nt.SIGReg(n_slices=64, seed=1, reduction="none")
    x = torch.randn(40, 200, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    vals = m(x)
    mean, se = float(vals.mean()), float(vals.mean(-1).std() / np.sqrt(40))
    assert abs(mean - rule.null_mean()) < 4 * se


# ------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------
def test_bad_input():
    x = torch.randn(20, 3)
    with pytest.raises(ValueError, match="`reduction`"):
        nt.sliced_epps_pulley(x, reduction="median")
    with pytest.raises(TypeError, match="`reduction`"):
        nt.SIGReg(reduction=1)
    with pytest.raises(ValueError, match="`n_slices`"):
        nt.sliced_epps_pulley(x, n_slices=0)
    with pytest.raises(TypeError, match="`n_slices`"):
        nt.SIGReg(n_slices=2.5)
    with pytest.raises(ValueError, match="`beta`"):
        nt.epps_pulley(x, beta=-1.0)
    with pytest.raises(TypeError, match="`beta`"):
        nt.epps_pulley(x, beta="1")
    with pytest.raises(TypeError, match="`standardize`"):
        nt.epps_pulley(x, standardize=1)
    with pytest.raises(ValueError, match="`directions`"):
        nt.sliced_epps_pulley(x, directions=torch.randn(4, 5))
    with pytest.raises(ValueError, match="`directions`"):
        nt.sliced_epps_pulley(x, directions=torch.zeros(3, 2))
    with pytest.raises(ValueError, match="`x`"):
        nt.sliced_epps_pulley(torch.randn(5))
    with pytest.raises(TypeError, match="`x`"):
        nt.sliced_epps_pulley(torch.randn(5, 2, dtype=torch.complex64))
    with pytest.raises(TypeError, match="`rng`"):
        nt.sliced_epps_pulley(x, rng="seed")
    with pytest.raises(ValueError, match="`quadrature`"):
        nt.epps_pulley(x, quadrature="exact")
    with pytest.raises(ValueError, match="`quadrature`"):
        nt.SIGReg(quadrature="auto")
    with pytest.raises(ValueError, match="`quadrature`"):
        nt.SIGReg(quadrature="simpson")
    with pytest.raises(TypeError, match="`dim`"):
        nt.epps_pulley(x, dim=1.0)
    with pytest.raises(ValueError, match="`dim`"):
        nt.epps_pulley(x, dim=2)
    with pytest.raises(ValueError, match="`seed`"):
        nt.SIGReg(seed=-1)
    with pytest.raises(TypeError, match="`distributed`"):
        nt.SIGReg(distributed="yes")
    with pytest.raises(ValueError, match="singular"):
        nt.sliced_epps_pulley(torch.randn(50, 1).repeat(1, 3).double(), n_slices=4, rng=0, standardize=True)
    with pytest.raises(ValueError, match="features"):
        nt.SIGReg(directions=torch.randn(4, 8))(torch.randn(30, 5))


def test_import_normtest_does_not_import_torch():
    code = "import sys, normtest; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ------------------------------------------------------------------------------------------
# distributed: 2 gloo processes with uneven batches vs one process on the concatenation
# ------------------------------------------------------------------------------------------
def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_gloo_two_ranks_uneven(tmp_path):
    worker = os.path.join(os.path.dirname(__file__), "_ddp_worker.py")
    env = dict(os.environ, OMP_NUM_THREADS="1", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, worker, str(r), "2", str(tmp_path)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in range(2)]
    # the single-process reference on the concatenated batch, here while the ranks run
    spec = importlib.util.spec_from_file_location("_ddp_worker", worker)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    threads = torch.get_num_threads()
    mod.main(0, 1, str(tmp_path))
    torch.set_num_threads(threads)
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (o, e) in zip(procs, outs):
        assert p.returncode == 0, e[-3000:]
    assert time.perf_counter() - t0 < 60
    r0, r1 = (dict(np.load(tmp_path / f"rank{r}_of2.npz")) for r in range(2))
    single = dict(np.load(tmp_path / "rank0_of1.npz"))
    for key in single:
        if key.startswith("loss") or key.startswith("stat"):
            np.testing.assert_allclose(r0[key], single[key], rtol=1e-6, err_msg=key)
            np.testing.assert_allclose(r1[key], single[key], rtol=1e-6, err_msg=key)
        elif key.startswith("grad"):
            np.testing.assert_allclose(r0[key], single[key], rtol=1e-6, atol=1e-6, err_msg=key)
            np.testing.assert_allclose(r1[key], single[key], rtol=1e-6, atol=1e-6, err_msg=key)
        elif key.startswith("dir"):
            np.testing.assert_array_equal(r0[key], single[key], err_msg=key)
            np.testing.assert_array_equal(r1[key], single[key], err_msg=key)
    # the negative control: the in-place, non-autograd all-reduce (or none) gives wrong gradients
    assert int(r0["step_after"]) == int(r1["step_after"]) == int(single["step_after"]) == 5
    assert not np.allclose(r0["naive_grad_w"], single["grad_w"], rtol=1e-3)


# ------------------------------------------------------------------------------------------
# work plan: streamed chunks vs the kept whole-array features; torch.compile
# ------------------------------------------------------------------------------------------
def test_gradcheck_blocks_and_chunks(rng, monkeypatch):
    # the recomputing backward over several GEMM blocks of several chunks, on all inputs
    monkeypatch.setattr(ntag, "_SERIAL_CHUNK", 4)  # chunks of one row of (B, M) = (2, 2)
    monkeypatch.setattr(ntag, "_BLOCK_ELEMENTS", 8)  # in blocks of two rows
    assert ntag.plan_rows(5, 2, 2, 16, True, torch.device("cpu")) == (2, 1)
    t = torch.tensor(np.array(get_rule("lejepa").nodes))
    x = torch.tensor(rng.standard_normal((2, 5, 3)), requires_grad=True)
    A = torch.tensor(rng.standard_normal((3, 2)), requires_grad=True)
    scale = torch.tensor(rng.uniform(0.5, 1.5, (2, 1, 2)), requires_grad=True)
    shift = torch.tensor(rng.standard_normal((1, 1, 2)), requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, A, scale, shift: ntag.EcfSums.apply(x, A, scale, shift, t, get_rule("lejepa").lattice_step),
        (x, A, scale, shift))


def test_work_plan_serial_chunks_for_small_problems():
    # the SIGReg explainer's toy sizes: elementwise chunks below ATen's parallel grain (no
    # intra-op thread hand-offs), one GEMM block; large problems: bigger, threaded chunks
    cpu = torch.device("cpu")
    block, chunk = ntag.plan_rows(1000, 1, 256, 16, True, cpu)
    assert block == 1000 and 2 * chunk * 256 < 32768
    block, chunk = ntag.plan_rows(100_000, 1, 256, 16, True, cpu)
    assert chunk * 256 == ntag._PARALLEL_CHUNK and block * 256 == 2**20


def test_hashed_directions_are_unit_gaussian_and_keyed():
    from normtest.torch.loss import hashed_directions

    step = torch.tensor(3)
    A = hashed_directions(7, step, 40, 500, "cpu", torch.float64)
    np.testing.assert_allclose(A.norm(dim=0).numpy(), 1.0, rtol=1e-12)
    assert torch.equal(A, hashed_directions(7, step, 40, 500, "cpu", torch.float64))
    assert not torch.equal(A, hashed_directions(7, step + 1, 40, 500, "cpu", torch.float64))
    assert not torch.equal(A, hashed_directions(8, step, 40, 500, "cpu", torch.float64))
    # before normalisation the entries are N(0, 1): the scaled coordinates of 500 unit vectors
    # in 40 dimensions are close to N(0, 1) (Kolmogorov–Smirnov at the 1e-3 level)
    from scipy import stats

    z = (A * np.sqrt(40)).numpy().ravel()
    assert stats.kstest(z, "norm").pvalue > 1e-3


@pytest.mark.filterwarnings("ignore:`torch.jit.script_method` is deprecated:DeprecationWarning")  # Inductor's
def test_compile_fullgraph_equals_eager():
    # torch.compile traces the whole loss (hashed directions, buffer step, the sums as plain ops)
    torch._dynamo.reset()
    x = torch.randn(64, 5, generator=torch.Generator().manual_seed(0))
    eager, compiled = nt.SIGReg(n_slices=8, seed=2), nt.SIGReg(n_slices=8, seed=2)
    fn = torch.compile(compiled, fullgraph=True)
    for _ in range(2):  # the second call draws new directions without recompiling
        xe, xc = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        ve, vc = eager(xe), fn(xc)
        ve.backward()
        vc.backward()
        np.testing.assert_allclose(vc.item(), ve.item(), rtol=1e-6)
        np.testing.assert_allclose(xc.grad.numpy(), xe.grad.numpy(), rtol=1e-6, atol=1e-6)
    assert int(compiled.step) == int(eager.step) == 2
