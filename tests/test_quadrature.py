"""Quadrature rules: presets, the auto rule's exactness, aliasing."""

import os
import sys

import numpy as np
import pytest

import normtest

from normtest.ecf._kernels import ecf_sums_rows
from normtest.ecf.rules import auto_rule, custom_rule, get_rule, lejepa_rule, paper_rule

sys.path.insert(0, os.path.dirname(__file__))
from naive_ecf import mpmath_ep_statistic_tied, naive_ep_statistic, naive_rule_statistic, standardize  # noqa: E402


def _rule_stat(y, rule):
    C, S = ecf_sums_rows(np.asarray(y, dtype=float)[None, :], rule.nodes, step=rule.step)
    return float(rule.statistic(C, S, np.array([y.size]))[0])


def test_presets_match_lejepa_definitions():
    r = lejepa_rule()
    t = np.linspace(0, 3, 17)
    h = 3 / 16
    w = np.full(17, 2 * h)
    w[0] = w[-1] = h
    np.testing.assert_allclose(r.nodes, t[1:])
    np.testing.assert_allclose(r.weights, (w * np.exp(-t**2 / 2))[1:])
    assert r.period == pytest.approx(2 * np.pi / h) and round(r.period, 2) == 33.51
    p = paper_rule()
    assert round(p.period, 2) == 10.05 and p.nodes.size == 8
    # the folded paper rule equals the plain trapezoid on linspace(-5, 5, 17)
    y = np.random.default_rng(0).standard_normal(300)
    tt = np.linspace(-5, 5, 17)
    ww = np.full(17, 0.625)
    ww[0] = ww[-1] = 0.3125
    ref = naive_rule_statistic(y, tt, ww * np.exp(-tt**2 / 2))
    assert _rule_stat(y, p) == pytest.approx(ref, rel=1e-12)


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("law", ["normal", "t3", "normal-sd2"])
def test_auto_rule_equals_closed_form(beta, law):
    rng = np.random.default_rng(11)
    x = {"normal": rng.standard_normal, "t3": lambda n: rng.standard_t(3, n),
         "normal-sd2": lambda n: 2 * rng.standard_normal(n)}[law](600)
    for y in (standardize(x), x):
        rule = auto_rule(np.abs(y).max(), beta)
        got = _rule_stat(y, rule)
        ref = naive_ep_statistic(y, beta)
        assert abs(got - ref) <= 1e-10 * abs(ref) + 1e-11


def test_default_statistic_on_tied_data_against_mpmath():
    # heavy ties: the kernel's per-term rounding (lattice recurrence) does not average out over
    # values, the worst case for the documented ~1e-10 relative accuracy of the default statistic
    rng = np.random.default_rng(5)
    for x in (np.round(rng.standard_normal(200_000), 1), np.round(2 * rng.standard_normal(200_000)) / 2,
              rng.integers(0, 5, 200_000).astype(float)):
        got = normtest.epps_pulley(x, method="none").statistic
        assert got == pytest.approx(mpmath_ep_statistic_tied(x), rel=1e-10)


def test_auto_rule_size_and_errors():
    r = auto_rule(5.0)
    assert r.nodes.size == 29 and r.period == pytest.approx(20.0)
    np.testing.assert_allclose(r.nodes, r.step * np.arange(1, 30))
    assert r.describe()["rule"] == "auto" and r.scale == "henze"
    # period grows with the spread; smaller beta needs a larger margin
    assert auto_rule(50.0).period > 100 and auto_rule(5.0, 0.5).period > r.period
    assert get_rule("auto", 1.0, spread=5.0).nodes.size == 29
    with pytest.raises(ValueError, match="spread"):
        get_rule("auto", 1.0)
    with pytest.raises(ValueError, match="spread"):
        auto_rule(-1.0)
    with pytest.raises(ValueError, match="beta"):
        auto_rule(1.0, 0.0)


def test_equispaced_rules_alias_shifts_by_their_period():
    rng = np.random.default_rng(5)
    y = rng.standard_normal(200)
    shifted = y.copy()
    shifted[:50] += paper_rule().period  # values one period apart score as coincident
    assert _rule_stat(shifted, paper_rule()) == pytest.approx(_rule_stat(y, paper_rule()), rel=1e-9)
    # the auto rule sized for the shifted data is not fooled
    assert _rule_stat(shifted, auto_rule(np.abs(shifted).max())) > 10 * _rule_stat(y, auto_rule(5.0))


def test_custom_rule_validation():
    r = custom_rule([-1.0, 0.0, 1.0, 2.0], [0.5, 1.0, 0.5, 0.25])
    np.testing.assert_allclose(r.nodes, [1.0, 2.0])
    np.testing.assert_allclose(r.weights, [1.0, 0.25])
    assert r.step == pytest.approx(1.0)
    with pytest.raises(ValueError, match="quadrature"):
        custom_rule([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="non-negative"):
        custom_rule([1.0, 2.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="finite"):
        custom_rule([1.0, np.nan], [1.0, 1.0])
    with pytest.raises(TypeError, match="quadrature"):
        get_rule(3.0)
    with pytest.raises(ValueError, match="quadrature"):
        get_rule("simpson")


def test_one_list_of_quadrature_names():
    """Every NumPy function accepts the names of QUADRATURE_NAMES and rejects others alike."""
    from normtest.ecf.rules import QUADRATURE_NAMES, check_quadrature

    assert QUADRATURE_NAMES == ("auto", "exact", "lejepa", "paper", "gauss-hermite")
    x = np.random.default_rng(5).standard_normal(300)
    gh = normtest.epps_pulley(x, quadrature="gauss-hermite")
    assert gh.quadrature["rule"] == "gauss-hermite" and gh.method == "asymptotic"
    # 64 folded Gauss–Hermite nodes integrate the N(0, 1) weight of this sample's ECF exactly enough
    assert gh.statistic == pytest.approx(normtest.epps_pulley(x, quadrature="exact").statistic, rel=1e-9)
    X = np.random.default_rng(6).standard_normal((100, 3))
    assert normtest.sliced_epps_pulley(X, n_slices=4, rng=0, quadrature="gauss-hermite").quadrature["rule"] \
        == "gauss-hermite"
    messages = []
    for call in (lambda: normtest.epps_pulley(x, quadrature="simpson"),
                 lambda: normtest.sliced_epps_pulley(X, quadrature="simpson"),
                 lambda: check_quadrature("simpson")):
        with pytest.raises(ValueError, match="quadrature") as err:
            call()
        messages.append(str(err.value))
    assert len(set(messages)) == 1 and all(repr(q) in messages[0] for q in QUADRATURE_NAMES)
    with pytest.raises(ValueError, match="not available for the sliced test"):
        normtest.sliced_epps_pulley(X, quadrature="exact")
    with pytest.raises(ValueError, match="beta"):
        normtest.sliced_epps_pulley(X, quadrature="lejepa", beta=2.0)


@pytest.mark.parametrize("law", ["normal", "t2", "one-outlier"])
def test_sliced_auto_rule_holds_every_projection(rng, law):
    # the sliced "auto" rule is sized from a subsample's projections (not the row-norm bound),
    # checked against the largest |projection| the kernel reads, and redone where exceeded:
    # the statistic is the bound rule's (both exact) and the spread covers every projection
    from normtest.ecf._stream import _projected_sums

    X = rng.standard_normal((20000, 32)) if law == "normal" else rng.standard_t(2, size=(20000, 32))
    if law == "one-outlier":
        X = rng.standard_normal((20000, 32))
        X[12345] *= 6.0  # not in the strided subsample
    res = normtest.sliced_epps_pulley(X, n_slices=48, rng=3)
    A = res.directions
    top = np.abs(X @ A).max()
    bound = auto_rule(np.sqrt((X * X).sum(axis=1).max()))
    C, S = _projected_sums(X, A, bound)
    ref = bound.statistic(C, S, np.full(48, 20000.0))
    assert res.quadrature["spread"] >= top * (1 - 1e-12)
    if law == "normal":
        assert res.quadrature["n_nodes"] < 0.85 * bound.nodes.size
    np.testing.assert_allclose(res.slice_statistics, ref, rtol=1e-11)
