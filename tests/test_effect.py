"""Effect sizes of the ECF tests: estimator, interval coverage, population distance by quadrature."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

import normtest
from normtest.ecf.effect import population_distance


def _laplace_cf(t):
    return 1.0 / (1.0 + t * t / 2.0)  # unit-variance Laplace


def test_population_distance_by_closed_form():
    # N(mu, 1) against N(0, 1), beta = 1: int |e^{i mu t} - 1|^2 e^{-t^2} phi(t) dt
    # = 2 (1 - exp(-mu^2/6)) / sqrt(3)
    mu = 0.7
    assert_allclose(population_distance(lambda t: np.exp(1j * mu * t - t * t / 2)),
                    2 * (1 - np.exp(-mu ** 2 / 6)) / np.sqrt(3), rtol=1e-9)
    assert population_distance(lambda t: np.exp(-t * t / 2)) == 0.0


def test_effect_is_clipped_bias_corrected_statistic(rng):
    from normtest.ecf.laws import exact_mean

    x = rng.laplace(size=(300, 4))
    for standardize in (True, False):
        res = normtest.epps_pulley(x, standardize=standardize)
        raw = (res.statistic - exact_mean(1.0, standardize)) / 300
        assert_allclose(res.effect, np.maximum(raw, 0.0), rtol=1e-12)
        lo, hi = res.effect_ci
        assert np.all((lo <= res.effect) & (res.effect <= hi)) and np.all(lo >= 0)


def test_effect_converges_to_the_population_distance():
    x = np.random.default_rng(3).laplace(size=200_000)
    res = normtest.epps_pulley(x)
    truth = population_distance(_laplace_cf)
    lo, hi = res.effect_ci
    assert lo <= truth <= hi and hi - lo < 0.1 * truth
    assert res.effect == pytest.approx(truth, rel=0.05)


def test_effect_interval_coverage_seeded():
    # 150 samples of n = 600 from the unit Laplace (Delta = 6.60e-3): measured coverage 0.92-0.94
    # at n = 200-1000, 400 reps (docs/epps_pulley.md); here within binomial error of that
    gen = np.random.default_rng(2026)
    truth = population_distance(_laplace_cf)
    res = normtest.epps_pulley(gen.laplace(size=(600, 150)))
    lo, hi = res.effect_ci
    cover = np.mean((lo <= truth) & (truth <= hi))
    assert 0.86 <= cover <= 0.99


def test_effect_nan_and_rules(rng):
    x = rng.normal(size=(50, 2))
    x[0, 1] = np.nan
    res = normtest.epps_pulley(x)
    assert np.isnan(res.effect[1]) and np.isfinite(res.effect[0])
    lej = normtest.epps_pulley(x[:, 0], quadrature="lejepa")
    assert np.isnan(lej.effect)  # a preset's scale is not the distance's
    rec = normtest.epps_pulley(x[:, 0]).to_dict()
    assert "effect" in rec and len(rec["effect_ci"]) == 2


def test_sliced_effect(rng):
    X = rng.laplace(scale=1 / np.sqrt(2), size=(2000, 3))
    res = normtest.sliced_epps_pulley(X, n_slices=32, rng=5)
    truth = np.mean([population_distance(lambda t, u=u: np.prod([_laplace_cf(v * t) for v in u], axis=0))
                     for u in res.directions.T])
    lo, hi = res.effect_ci
    assert lo <= truth <= hi
    assert res.effect == pytest.approx(max(0.0, (res.statistic - res.null_moments["mean"]) / 2000))
    assert normtest.sliced_epps_pulley(X, n_slices=32, rng=5, quadrature="lejepa").effect is None

