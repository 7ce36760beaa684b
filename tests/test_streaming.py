"""normtest.streaming: accumulators give the in-memory results whatever the batching."""

import functools
import warnings

import numpy as np
import pytest

import normtest
from normtest import DegenerateDataWarning, SmallSampleWarning
from normtest.streaming import EppsPulley, SlicedEppsPulley, accumulate


def _batchings(n, rng):
    """Several ways to cut n rows: one batch, even, uneven with empty and one-row batches."""
    cuts = np.sort(rng.choice(np.arange(1, n), size=6, replace=False))
    return [[0, n], [0, n // 3, 2 * n // 3, n], [0, 0, 1, *cuts.tolist(), cuts[-1], n]]


def _run(acc, X, edges, *, tree=False, offsets=True):
    """All passes over the batches ``X[edges[i]:edges[i+1]]``; with ``tree`` one spawned copy per
    batch, shipped as bytes and merged pairwise (as an engine does), placed by the pass-1 counts
    (``offsets``) as the engines do."""
    from normtest.streaming import engine

    parts = [X[a:b] for a, b in zip(edges[:-1], edges[1:])]
    offs = [None] * len(parts)
    if tree and engine.pilot_rows([(acc, None)]):   # the rule from the data's first rows, as the engines do
        acc = engine.fix_rules([(acc, None)], X[:engine.pilot_rows([(acc, None)])])[0][0]
    for p in range(acc.passes):
        if p:
            acc.next_pass()
        if not tree:
            for b in parts:
                acc.update(b)
            continue
        states, raw = [], []
        for b, o in zip(parts, offs):
            w = acc.spawn(offset=o)
            w.update(b)
            raw.append(w.to_bytes())
            states.append(acc.from_bytes(raw[-1]))
        if offsets and p + 1 < acc.passes:
            offs = [o[0] for o in engine.offsets([engine.row_counts([(acc, None)], [r]) for r in raw])]
        while len(states) > 1:
            states = [functools.reduce(lambda u, v: u.merge(v), states[i:i + 2]) for i in range(0, len(states), 2)]
        base = acc.spawn()
        acc = base.merge(states[0])
    return acc.result()


def _close(a, b, rtol=1e-9, atol=0.0):
    np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=rtol, atol=atol)


def _close_p(a, b):
    """p-values: 1e-9 relative, or 1e-14 absolute far in the tail (where the null's sf is at its
    own rounding level)."""
    _close(a, b, atol=1e-14)


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("quadrature", ["auto", "lejepa"])
def test_epps_pulley_matches_in_memory(standardize, quadrature, rng):
    X = rng.standard_t(7, size=(1500, 3)) * [1.0, 2.0, 0.5] + [0.0, 1.0, -3.0]
    ref = normtest.epps_pulley(X, standardize=standardize, quadrature=quadrature)
    for edges in _batchings(len(X), rng):
        for tree in (False, True):
            res = _run(EppsPulley(standardize=standardize, quadrature=quadrature), X, edges, tree=tree)
            assert type(res) is type(ref)
            _close(res.statistic, ref.statistic)
            _close_p(res.pvalue, ref.pvalue)
            assert res.method == ref.method and np.array_equal(res.n, ref.n)
            assert res.settings == ref.settings and res.quadrature["rule"] == ref.quadrature["rule"]


def test_epps_pulley_one_d_and_passes(rng):
    x = rng.standard_normal(800)
    ref = normtest.epps_pulley(x)
    res = accumulate(EppsPulley(), np.array_split(x, 3))
    assert np.ndim(res.statistic) == 0 and res.n == 800
    _close(res.statistic, ref.statistic)
    assert EppsPulley().passes == 2
    assert EppsPulley(standardize=False, quadrature="lejepa").passes == 1
    assert EppsPulley(standardize=False).passes == 2  # the auto rule needs the range first


def test_epps_pulley_nan_policies(rng):
    X = rng.standard_normal((600, 3))
    X[[3, 400], 1] = np.nan
    batches = np.array_split(X, 4)
    for policy in ("omit", "propagate"):
        ref = normtest.epps_pulley(X, nan_policy=policy)
        res = accumulate(EppsPulley(nan_policy=policy), batches)
        _close(res.statistic[[0, 2]], ref.statistic[[0, 2]])
        np.testing.assert_array_equal(res.n, ref.n)
        if policy == "omit":
            _close(res.statistic[1], ref.statistic[1])
        else:
            assert np.isnan(res.statistic[1]) and np.isnan(res.pvalue[1])
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        accumulate(EppsPulley(nan_policy="raise"), batches)


def test_epps_pulley_all_nan_small_and_constant_columns(rng):
    X = rng.standard_normal((50, 3))
    X[:, 0] = np.nan
    X[:, 2] = 4.0
    with pytest.warns(DegenerateDataWarning), pytest.warns(SmallSampleWarning, match="size 0"):
        res = accumulate(EppsPulley(nan_policy="omit"), np.array_split(X, 5))
    assert np.isnan(res.statistic[[0, 2]]).all() and np.isfinite(res.statistic[1])
    with pytest.warns(SmallSampleWarning):
        res = accumulate(EppsPulley(), [np.array([1.0, 2.0])])
    assert np.isnan(res.statistic)


def test_epps_pulley_monte_carlo_same_null(rng):
    x = rng.standard_normal(120)
    res = accumulate(EppsPulley(method=normtest.MonteCarlo(n_resamples=199, rng=5)), np.array_split(x, 4))
    ref = normtest.epps_pulley(x, method=normtest.MonteCarlo(n_resamples=199, rng=5))
    assert res.method == "monte-carlo" and res.pvalue == ref.pvalue and res.pvalue_se == ref.pvalue_se


def test_epps_pulley_calibrated_when_streamed():
    """Under H0 the streamed p-values are uniform (the null is the in-memory one; seeded)."""
    gen = np.random.default_rng(11)
    p = []
    for _ in range(300):
        x = gen.normal(2.0, 3.0, size=60)
        p.append(accumulate(EppsPulley(), np.array_split(x, 3)).pvalue)
    p = np.asarray(p)
    for level in (0.05, 0.1, 0.5):
        assert abs(np.mean(p <= level) - level) < 3.5 * np.sqrt(level * (1 - level) / p.size)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("quadrature", ["auto", "lejepa"])
def test_sliced_matches_in_memory(standardize, quadrature, rng):
    X = rng.standard_normal((1200, 6)) @ rng.standard_normal((6, 6)) * 0.4 + 0.3
    kw = dict(n_slices=24, rng=3, standardize=standardize, quadrature=quadrature)
    ref = normtest.sliced_epps_pulley(X, **kw)
    for edges in _batchings(len(X), rng):
        for tree in (False, True):
            res = _run(SlicedEppsPulley(**kw), X, edges, tree=tree)
            assert type(res) is type(ref) and res.method == ref.method and res.n == ref.n
            _close(res.statistic, ref.statistic)
            _close(res.slice_statistics, ref.slice_statistics)
            _close_p(res.pvalue, ref.pvalue)
            np.testing.assert_array_equal(res.directions, ref.directions)
            assert res.seed == ref.seed == 3


@pytest.mark.parametrize("reduction", ["max", "none"])
def test_sliced_reductions_float32_and_frames(reduction, rng):
    pd = pytest.importorskip("pandas")
    X = rng.standard_normal((700, 5)).astype(np.float32)
    # float32 batches fed in order are projected in float32 at their rows' places: the in-memory
    # numbers of the float32 data themselves, whatever the batches
    ref = normtest.sliced_epps_pulley(pd.DataFrame(X, columns=list("abcde")), n_slices=9, rng=1,
                                      reduction=reduction)
    frames = [pd.DataFrame(b, columns=list("abcde")) for b in np.array_split(X, 3)]
    res = accumulate(SlicedEppsPulley(n_slices=9, rng=1, reduction=reduction), frames)
    _close(res.statistic, ref.statistic)
    _close_p(res.pvalue, ref.pvalue)
    assert res.columns == ref.columns == list("abcde")
    f64 = normtest.sliced_epps_pulley(X.astype(np.float64), n_slices=9, rng=1, reduction=reduction)
    _close(res.statistic, f64.statistic, rtol=1e-5)   # the float64 copy: float32 rounding apart


def test_sliced_nan_rows_and_user_directions(rng):
    X = rng.standard_normal((500, 3))
    X[[7, 300], [0, 2]] = np.nan
    A = rng.standard_normal((3, 4))
    ref = normtest.sliced_epps_pulley(X, directions=A, nan_policy="omit")
    res = accumulate(SlicedEppsPulley(directions=A, nan_policy="omit"), np.array_split(X, 4))
    _close(res.statistic, ref.statistic)
    assert res.n == ref.n == 498
    res = accumulate(SlicedEppsPulley(directions=A), np.array_split(X, 4))
    assert np.isnan(res.statistic) and res.n == 0
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        accumulate(SlicedEppsPulley(nan_policy="raise"), [X])


def test_merge_is_bit_identical_for_a_fixed_partitioning_and_close_across(rng):
    X = rng.standard_normal((3000, 4))
    kw = dict(n_slices=16, rng=2)
    edges = _batchings(len(X), rng)
    a = [_run(SlicedEppsPulley(**kw), X, e, tree=True).statistic for e in edges]
    b = [_run(SlicedEppsPulley(**kw), X, e, tree=True).statistic for e in edges]
    assert a == b
    _close(a, a[0], rtol=1e-12)
    u = [_run(EppsPulley(), X, e, tree=True).statistic for e in edges]
    _close(u, [u[0]] * len(u), rtol=1e-12)


def test_state_round_trip_and_guards(rng):
    x = rng.standard_normal((200, 2))
    acc = EppsPulley()
    acc.update(x)
    state = acc.to_bytes()
    assert isinstance(state, bytes) and len(state) < 4000
    back = acc.from_bytes(state)
    assert all(np.array_equal(v, acc.to_dict()[k]) for k, v in back.to_dict().items())
    with pytest.raises(ValueError, match="settings"):
        EppsPulley(beta=2.0).from_bytes(state)
    with pytest.raises(ValueError, match="settings"):
        acc.merge(EppsPulley(beta=2.0))
    with pytest.raises(TypeError, match="other"):
        acc.merge(SlicedEppsPulley())
    with pytest.raises(RuntimeError, match="next_pass"):
        acc.result()
    with pytest.raises(ValueError, match="2 column"):
        acc.update(np.ones((3, 3)))
    with pytest.raises(TypeError, match="batch"):
        acc.update(np.array(["a", "b"]))
    with pytest.raises(TypeError, match="numeric"):
        pd = pytest.importorskip("pandas")
        acc.update(pd.DataFrame({"a": ["x", "y"], "b": [1.0, 2.0]}))
    late = acc.spawn()
    acc.next_pass()
    with pytest.raises(ValueError, match="pass"):
        acc.merge(late)
    with pytest.raises(RuntimeError, match="no pass 3"):
        acc.next_pass()
    acc.update(x[:100])   # pass 2 sees other data than pass 1
    with pytest.raises(ValueError, match="differ"):
        acc.result()


def test_sliced_guards(rng):
    with pytest.raises(ValueError, match="directions"):
        SlicedEppsPulley(directions="all")
    with pytest.raises(ValueError, match="exact"):
        SlicedEppsPulley(quadrature="exact")
    with pytest.raises(ValueError, match="n_slices"):
        SlicedEppsPulley(n_slices=0)
    acc = SlicedEppsPulley(n_slices=4, rng=0)
    acc.update(rng.standard_normal((20, 3)))
    acc.next_pass()
    w = acc.spawn()
    w.update(rng.standard_normal((20, 3)))
    state = w.to_bytes()
    assert len(state) < 8000   # pass-2 states carry the sums only
    other = SlicedEppsPulley(n_slices=4, rng=0)
    other.update(rng.standard_normal((20, 3)))
    other.next_pass()
    with pytest.raises(ValueError, match="spawn"):
        other.from_bytes(state)


def test_sliced_too_few_rows_far_from_the_origin_is_nan_like_in_memory(rng):
    # n < D + 2 rows (no whitening): the placeholder plan must not size a rule from the raw norms
    X = rng.standard_normal((7, 16)) * 1e-3 + 1e6
    with pytest.warns(SmallSampleWarning):
        ref = normtest.sliced_epps_pulley(X, n_slices=8, rng=1, standardize=True)
    with pytest.warns(SmallSampleWarning):
        got = accumulate(SlicedEppsPulley(n_slices=8, rng=1, standardize=True), [X[:3], X[3:]])
    assert np.isnan(ref.statistic) and np.isnan(got.statistic)


def test_torch_embeddings_over_batches(rng):
    torch = pytest.importorskip("torch")
    Z = rng.standard_normal((900, 8)).astype(np.float32)
    loader = [torch.from_numpy(b) for b in np.array_split(Z, 6)]
    with torch.no_grad():
        res = accumulate(SlicedEppsPulley(n_slices=16, rng=4), loader)
    ref = normtest.sliced_epps_pulley(Z, n_slices=16, rng=4)   # the same float32 embeddings in memory
    _close(res.statistic, ref.statistic)
    _close_p(res.pvalue, ref.pvalue)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _close(accumulate(EppsPulley(), loader).statistic, normtest.epps_pulley(Z).statistic)


def test_large_batches_are_processed_in_slices(rng, monkeypatch):
    import normtest.streaming._base as base

    X = rng.standard_normal((900, 3))
    whole = accumulate(SlicedEppsPulley(n_slices=5, rng=0), [X])
    monkeypatch.setattr(base, "_SLICE_VALUES", 200)   # every update now loops over 66-row slices
    sliced = accumulate(SlicedEppsPulley(n_slices=5, rng=0), [X])
    _close(sliced.statistic, whole.statistic, rtol=1e-12)
    _close(accumulate(EppsPulley(), [X]).statistic, normtest.epps_pulley(X).statistic)
    _close(accumulate(EppsPulley(), [X[:, 0]]).statistic, normtest.epps_pulley(X[:, 0]).statistic)


@pytest.mark.parametrize("tree", [False, True])
def test_effect_size_matches_in_memory_whatever_the_batching(tree, rng):
    # the effect's interval uses every k-th non-NaN row by its global index, as in memory
    X = np.column_stack([rng.standard_normal(12_001), rng.standard_exponential(12_001)])
    X[[5, 70, 9000], [0, 1, 1]] = np.nan
    ref = normtest.epps_pulley(X, axis=0, nan_policy="omit")
    Y = rng.standard_normal((11_000, 4)) @ rng.standard_normal((4, 4))
    Y[:, 1] += 0.2 * Y[:, 1] ** 2
    Y[[3, 4000], [2, 0]] = np.nan
    refs = {std: normtest.sliced_epps_pulley(Y, n_slices=12, rng=2, standardize=std, nan_policy="omit")
            for std in (False, True)}
    for edges in _batchings(X.shape[0], rng):
        res = _run(EppsPulley(nan_policy="omit"), X, edges, tree=tree)
        _close(res.effect, ref.effect, atol=1e-15)
        _close(res.effect_ci, ref.effect_ci, atol=1e-15)
        for std, r in refs.items():
            got = _run(SlicedEppsPulley(n_slices=12, rng=2, standardize=std, nan_policy="omit"), Y,
                       [min(e, Y.shape[0]) for e in edges], tree=tree)
            assert r.effect is not None and r.effect_ci[1] > r.effect_ci[0]
            _close(got.effect, r.effect)
            _close(got.effect_ci, r.effect_ci)
    if tree:   # copies spawned without their offsets cannot place the subsample: no interval, not a wrong one
        edges = _batchings(X.shape[0], rng)[1]
        assert np.isnan(_run(EppsPulley(nan_policy="omit"), X, edges, tree=True, offsets=False).effect).all()
        got = _run(SlicedEppsPulley(n_slices=12, rng=2, nan_policy="omit"), Y, [0, 5000, 11_000], tree=True,
                   offsets=False)
        assert got.effect is None and got.effect_ci is None


def test_sliced_pilot_rule_one_read_and_redo(rng):
    # standardize=False with "auto": the rule comes from the first 2048 rows (whatever the batching),
    # the sums from pass 1; pass 2 is skipped where pass 1 also took the effect's rows (n known)
    from normtest.streaming import engine

    X = rng.standard_normal((9000, 6))
    ref = normtest.sliced_epps_pulley(X, n_slices=16, rng=3)
    edges = [0, 1, 2000, 2001, 5000, 9000]

    def tree(acc, n_rows, data=X):
        acc.fix_rule(data[:acc.pilot_rows], n_rows=n_rows)
        starts = [np.array([e]) for e in edges[:-1]]
        for p in range(acc.passes):
            if p:
                acc.next_pass()
                if not acc.needs_data:
                    break
            ws = []
            for o, a, b in zip(starts, edges, edges[1:]):
                w = acc.spawn(offset=o)
                w.update(data[a:b])
                ws.append(acc.from_bytes(w.to_bytes()))
            acc = functools.reduce(lambda u, v: u.merge(v), ws, acc.spawn())
        return acc, acc.result()

    streamed = accumulate(SlicedEppsPulley(n_slices=16, rng=3), np.array_split(X, 7))
    for n_rows, one_read in ((9000, True), (None, False), (8999, False)):
        acc, res = tree(SlicedEppsPulley(n_slices=16, rng=3), n_rows)
        assert acc.needs_data is not one_read
        assert not bool(acc._plan["redo"])
        _close(res.statistic, ref.statistic)
        _close(res.effect, ref.effect)
        _close(res.statistic, streamed.statistic, rtol=1e-12)
        assert res.quadrature == streamed.quadrature   # the same rule, from the same first rows
    # the first rows' guess misses a far row: pass 2 sums again under the rule of the true maximum
    Y = X.copy()
    Y[7000] *= 12.0
    acc, res = tree(SlicedEppsPulley(n_slices=16, rng=3), 9000, Y)
    assert bool(acc._plan["redo"]) and acc._plan["spread"] > 30
    _close(res.statistic, normtest.sliced_epps_pulley(Y, n_slices=16, rng=3).statistic)
    # reduction="max" has no effect size: one pass over the data even without n
    calls = []
    res = accumulate(SlicedEppsPulley(n_slices=16, rng=3, reduction="max"),
                     lambda: calls.append(1) or iter(np.array_split(X, 3)))
    assert len(calls) == 1
    _close(res.statistic, normtest.sliced_epps_pulley(X, n_slices=16, rng=3, reduction="max").statistic)
    with pytest.raises(RuntimeError, match="fix_rule"):
        SlicedEppsPulley(n_slices=16, rng=3).spawn()
    with pytest.raises(RuntimeError, match="fix_rule"):
        SlicedEppsPulley(n_slices=16, rng=3, quadrature="lejepa").fix_rule(X)
    assert engine.pilot_rows([(SlicedEppsPulley(standardize=True), None)]) == 0
