"""normtest.dask: block sums reduce to the in-memory numbers, whatever the chunking."""

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
from dask.delayed import Delayed  # noqa: E402

import normtest  # noqa: E402
import normtest.dask as ntd  # noqa: E402


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("quadrature", ["auto", "lejepa", "paper", "exact"])
def test_matches_in_memory(standardize, quadrature, rng):
    x = rng.standard_t(6, size=3000) * 1.3 + 0.2
    ref = normtest.epps_pulley(x, standardize=standardize, quadrature=quadrature)
    lazy = ntd.epps_pulley(da.from_array(x, chunks=700), standardize=standardize, quadrature=quadrature)
    assert isinstance(lazy, Delayed)
    res = lazy.compute()
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-7, atol=1e-12)
    assert res.method == ref.method and res.n == ref.n == 3000


def test_chunking_does_not_matter(rng):
    x = rng.standard_normal(5000)
    vals = [ntd.epps_pulley(da.from_array(x, chunks=c)).compute().statistic for c in (5000, 1234, 300)]
    np.testing.assert_allclose(vals, vals[0], rtol=1e-12)


def test_columns_and_nan_policy(rng):
    X = rng.standard_normal((400, 3))
    X[5, 1] = np.nan
    lazy = ntd.epps_pulley(da.from_array(X, chunks=(100, 3)), nan_policy="omit").compute()
    ref = normtest.epps_pulley(X, nan_policy="omit")
    np.testing.assert_allclose(lazy.statistic, ref.statistic, rtol=1e-9)
    np.testing.assert_array_equal(lazy.n, [400, 399, 400])
    prop = ntd.epps_pulley(da.from_array(X, chunks=(100, 3))).compute()
    assert np.isnan(prop.statistic[1]) and np.isfinite(prop.statistic[[0, 2]]).all()


def test_monte_carlo_matches(rng):
    x = rng.standard_normal(200)
    mc = normtest.MonteCarlo(n_resamples=199, rng=3)
    res = ntd.epps_pulley(da.from_array(x, chunks=50), method=mc).compute()
    ref = normtest.epps_pulley(x, method=normtest.MonteCarlo(n_resamples=199, rng=3))
    assert res.pvalue == ref.pvalue and res.method == "monte-carlo"


def test_ecf_sums_against_direct(rng):
    x = rng.standard_normal(1000)
    t = np.array([0.3, 1.1, 2.0])
    C, S = ntd.ecf_sums(da.from_array(x, chunks=128), t).compute()
    np.testing.assert_allclose(C[0], np.cos(np.outer(x, t)).sum(0), rtol=1e-12)
    np.testing.assert_allclose(S[0], np.sin(np.outer(x, t)).sum(0), rtol=1e-10, atol=1e-10)


def test_bad_input():
    with pytest.raises(ValueError, match="nan_policy"):
        ntd.epps_pulley(np.ones(10), nan_policy="raise")
    with pytest.raises(ValueError, match="x"):
        ntd.epps_pulley(da.zeros((2, 2, 2)))
    with pytest.raises(TypeError, match="x"):
        ntd.epps_pulley(np.array(["a", "b"]))
    with pytest.raises(ValueError, match="nodes"):
        ntd.ecf_sums(np.ones(10), [])


# ---------------------------------------------------------------------------
# the sliced test, check(ddf), a real LocalCluster, bad partitions
# ---------------------------------------------------------------------------

dd = pytest.importorskip("dask.dataframe")
pd = pytest.importorskip("pandas")


@pytest.mark.parametrize("standardize", [False, True])
def test_sliced_matches_in_memory_any_chunking(standardize, rng):
    X = rng.standard_normal((2500, 5)) @ rng.standard_normal((5, 5)) + 1.0
    kw = dict(n_slices=12, rng=9, standardize=standardize)
    ref = normtest.sliced_epps_pulley(X, **kw)
    vals = []
    for chunks in ((2500, 5), (600, 5), (333, 2)):
        lazy = ntd.sliced_epps_pulley(da.from_array(X, chunks=chunks), **kw)
        assert isinstance(lazy, Delayed)
        res = lazy.compute()
        np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-9)
        np.testing.assert_allclose(res.pvalue, ref.pvalue, rtol=1e-9)
        # the effect's interval: the same row subsample as in memory (blocks placed by pass-1 counts)
        np.testing.assert_allclose([res.effect, *res.effect_ci], [ref.effect, *ref.effect_ci], rtol=1e-9)
        vals.append(res.statistic)
    np.testing.assert_allclose(vals, vals[0], rtol=1e-12)
    eager = ntd.sliced_epps_pulley(da.from_array(X, chunks=(600, 5)), lazy=False, **kw)
    assert eager.statistic == ntd.sliced_epps_pulley(da.from_array(X, chunks=(600, 5)), **kw).compute().statistic


def test_sliced_default_reads_the_blocks_once_when_their_sizes_are_known(rng, tmp_path):
    # standardize=False, "auto": the rule from the first 2048 rows (block 0, read once more), the sums
    # and the effect's rows in one pass over the blocks (row counts known), no second pass
    import dask

    X = rng.standard_normal((7500, 5))
    calls = []

    def block(i):
        calls.append(i)
        return X[2500 * i:2500 * (i + 1)]

    arr = da.concatenate([da.from_delayed(dask.delayed(block, pure=False)(i), shape=(2500, 5), dtype=float)
                          for i in range(3)])
    ref = normtest.sliced_epps_pulley(X, n_slices=12, rng=9)
    res = ntd.sliced_epps_pulley(arr, n_slices=12, rng=9, lazy=False)
    assert sorted(calls) == [0, 0, 1, 2]
    np.testing.assert_allclose([res.statistic, res.pvalue, res.effect, *res.effect_ci],
                               [ref.statistic, ref.pvalue, ref.effect, *ref.effect_ci], rtol=1e-9)
    # Parquet partitions: dask knows their lengths from the metadata
    for i in range(3):
        pd.DataFrame(X[2500 * i:2500 * (i + 1)], columns=list("abcde")).to_parquet(tmp_path / f"p{i}.parquet")
    ddf = dd.read_parquet(str(tmp_path))
    lengths = ntd._known_lengths(ddf)
    assert lengths is None or lengths == [2500, 2500, 2500]
    got = ntd.sliced_epps_pulley(ddf, n_slices=12, rng=9, lazy=False)
    np.testing.assert_allclose([got.statistic, got.effect], [ref.statistic, ref.effect], rtol=1e-9)
    # unknown block sizes: the head block is read whole, the effect's rows come in a light second pass
    unknown = dd.from_pandas(pd.DataFrame(X), npartitions=4).to_dask_array()
    assert np.isnan(unknown.chunks[0][0])
    for lazy in (False, True):
        got = ntd.sliced_epps_pulley(unknown, n_slices=12, rng=9, lazy=lazy)
        got = got.compute() if lazy else got
        np.testing.assert_allclose([got.statistic, got.effect], [ref.statistic, ref.effect], rtol=1e-9)


def _frame(rng, n=3000):
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.exponential(size=n),
                         "c": rng.normal(size=n).astype(np.float32), "s": ["x", "y", "z"] * (n // 3)})


def test_check_matches_normtest_check(rng):
    df = _frame(rng)
    df.loc[[4, 17], "a"] = np.nan
    ddf = dd.from_pandas(df, npartitions=5)
    table = ntd.check(ddf, tests=["epps_pulley", "anderson"], multivariate=True, rng=3)
    ref = normtest.check(df, tests=["epps_pulley"], multivariate=True, rng=3)
    assert list(table.columns) == list(ref.columns)
    ep = table[table.test == "epps_pulley"]
    np.testing.assert_allclose(ep.statistic.to_numpy()[:3], ref.statistic.to_numpy()[:3], rtol=1e-9)
    assert ep.n.tolist()[:3] == ref.n.tolist()[:3] and ep.n_nan.tolist() == ref.n_nan.tolist()[:4]
    joint = table.loc["(multivariate)"]
    np.testing.assert_allclose(joint.statistic, ref.loc["(multivariate)"].statistic, rtol=1e-9)
    np.testing.assert_allclose(table.effect.to_numpy()[[0, 2, 4, 8]], ref.effect.to_numpy()[[0, 1, 2, 4]],
                               rtol=1e-9)
    assert joint.note == ref.loc["(multivariate)"].note   # columns, H0 in words, rows dropped
    edf = table[table.test == "anderson"]
    assert edf.statistic.isna().all() and edf.note.str.contains("order statistics").iloc[0]
    assert table.loc["s"].note.str.startswith("skipped: non-numeric").all()
    assert table.attrs["normtest"]["settings"]["engine"] == "dask"
    # normtest.check dispatches a dask DataFrame here
    same = normtest.check(ddf, tests=["epps_pulley"])
    ep_only = ntd.check(ddf, tests=["epps_pulley"])
    pd.testing.assert_frame_equal(same, ep_only)
    np.testing.assert_allclose(same.statistic.to_numpy()[:3], ref.statistic.to_numpy()[:3], rtol=1e-9)


def test_bad_partitions(rng, tmp_path):
    """Empty, one-row and all-NaN partitions; mismatched dtypes across files; strings."""
    x = rng.normal(size=400)
    parts = [pd.DataFrame({"v": x[:200]}), pd.DataFrame({"v": np.zeros(0)}), pd.DataFrame({"v": x[200:201]}),
             pd.DataFrame({"v": np.full(50, np.nan)}), pd.DataFrame({"v": x[201:]})]
    ddf = dd.from_delayed([dask_delayed(p) for p in parts], meta=parts[0].iloc[:0])
    table = ntd.check(ddf)
    ref = normtest.epps_pulley(x)
    np.testing.assert_allclose(table.statistic.iloc[0], ref.statistic, rtol=1e-9)
    assert table.n.iloc[0] == 400 and table.n_nan.iloc[0] == 50
    pd.DataFrame({"v": np.arange(100, dtype=np.int32)}).to_parquet(tmp_path / "a.parquet")
    pd.DataFrame({"v": rng.normal(size=100)}).to_parquet(tmp_path / "b.parquet")
    both = np.concatenate([np.arange(100.0), pd.read_parquet(tmp_path / "b.parquet").v.to_numpy()])
    t2 = ntd.check(dd.read_parquet(str(tmp_path / "*.parquet")))
    np.testing.assert_allclose(t2.statistic.iloc[0], normtest.epps_pulley(both).statistic, rtol=1e-9)
    with pytest.raises(TypeError, match="numeric"):
        ntd.sliced_epps_pulley(dd.from_pandas(_frame(rng), npartitions=2))
    with pytest.raises(ValueError, match="at least one numeric"):
        ntd.check(dd.from_pandas(pd.DataFrame({"s": ["a", "b"]}), npartitions=1))
    with pytest.raises(ValueError, match="by"):
        ntd.check(ddf, by="v")
    with pytest.raises(TypeError, match="ddf"):
        ntd.check(np.ones(3))


def dask_delayed(obj):
    from dask import delayed

    return delayed(obj)


def _flaky_block(i, marker, x):
    """Block i; block 1 kills its worker process the first time it runs."""
    import os

    if i == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return x


@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("dask.distributed")
    # dashboard on any free port: another cluster on this machine may hold the default one
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
                                       dashboard_address=":0", silence_logs=40)
    client = distributed.Client(cluster)
    # A fresh compile and a build loaded from numba's on-disk cache may differ in the last bit
    # (normtest._numba); run the kernels once (the workers write the cache of the specialisations
    # they see), then restart the workers so that every one of them loads the same builds.
    X = np.random.default_rng(0).standard_normal((4000, 4))
    client.compute([ntd.sliced_epps_pulley(da.from_array(X, chunks=(1000, 4)), n_slices=8, rng=1),
                    ntd.epps_pulley(da.from_array(X, chunks=(1000, 4)))], sync=True)
    client.restart()
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_local_cluster_bit_identical_and_survives_a_dying_worker(cluster_client, tmp_path, rng):
    from dask import delayed

    X = rng.standard_normal((4000, 4))
    chunks = np.array_split(np.arange(4000), 4)
    kw = dict(n_slices=8, rng=1)
    # The workers load the kernels from numba's on-disk cache; this process may hold a freshly
    # compiled build, which can differ in the last bit (normtest._numba: bit-identity holds within
    # one build). So: worker runs against each other bit for bit, against this process to 1e-14.
    local = ntd.sliced_epps_pulley(da.from_array(X, chunks=(1000, 4)), **kw).compute(scheduler="threads")
    remote = cluster_client.compute(ntd.sliced_epps_pulley(da.from_array(X, chunks=(1000, 4)), **kw)).result()
    again = cluster_client.compute(ntd.sliced_epps_pulley(da.from_array(X, chunks=(1000, 4)), **kw)).result()
    assert again.statistic == remote.statistic and again.pvalue == remote.pvalue
    np.testing.assert_allclose([remote.statistic, remote.pvalue], [local.statistic, local.pvalue], rtol=1e-14)
    ep_local = ntd.epps_pulley(da.from_array(X, chunks=(1000, 4))).compute(scheduler="threads")
    ep_remote = cluster_client.compute(ntd.epps_pulley(da.from_array(X, chunks=(1000, 4)))).result()
    ep_again = cluster_client.compute(ntd.epps_pulley(da.from_array(X, chunks=(500, 4)).rechunk((1000, 4)))).result()
    # bit for bit: the kernel reads a copy placed on a 64-byte boundary (streaming.univariate._placed_rows;
    # a plain copy's heap placement changed the last bit in a few per cent of calls, benchmarks/kernel_placement.py)
    np.testing.assert_array_equal(ep_again.statistic, ep_remote.statistic)
    np.testing.assert_allclose(ep_remote.statistic, ep_local.statistic, rtol=1e-14)
    # a worker process dies while computing block 1; the scheduler reruns the task elsewhere
    marker = str(tmp_path / "died")
    blocks = [da.from_delayed(delayed(_flaky_block, pure=False)(i, marker, X[c]), shape=(c.size, 4),
                              dtype=float) for i, c in enumerate(chunks)]
    flaky = da.concatenate(blocks)
    res = cluster_client.compute(ntd.sliced_epps_pulley(flaky, **kw), retries=2).result()
    import os

    assert os.path.exists(marker)
    assert res.statistic == remote.statistic


def test_cli_engine_dask(tmp_path, capsys, rng):
    from normtest.__main__ import main

    for i in range(3):
        pd.DataFrame({"a": rng.normal(size=300), "b": rng.exponential(size=300)}).to_parquet(
            tmp_path / f"part{i}.parquet")
    both = pd.concat([pd.read_parquet(tmp_path / f"part{i}.parquet") for i in range(3)], ignore_index=True)
    code = main(["check", str(tmp_path / "*.parquet"), "--engine", "dask", "--test", "epps_pulley",
                 "--format", "csv"])
    out = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert code == 1
    ref = normtest.check(both, tests=["epps_pulley"])
    np.testing.assert_allclose(out.statistic.to_numpy(), ref.statistic.to_numpy(), rtol=1e-9)
    main(["check", str(tmp_path / "*.parquet"), "--engine", "dask", "--format", "csv"])   # default: what runs
    default = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert default.test.unique().tolist() == ["epps_pulley"]
    np.testing.assert_allclose(default.statistic.to_numpy(), ref.statistic.to_numpy(), rtol=1e-9)
    main(["check", str(tmp_path / "*.parquet"), "--engine", "dask", "--test", "anderson,epps_pulley"])
    text = capsys.readouterr().out   # an EDF test asked for by name: its row says why it did not run
    assert "order statistics" in text and "900" in text
    assert main(["check", str(tmp_path / "nothing*.parquet"), "--engine", "dask"]) == 2
    assert "no file matches" in capsys.readouterr().err


def test_constant_column_in_the_joint_test(rng):
    # in memory the joint row of check says "degenerate"; sliced_epps_pulley itself raises
    df = pd.DataFrame({"a": rng.normal(size=300), "b": np.ones(300), "c": rng.normal(size=300)})
    ddf = dd.from_pandas(df, npartitions=3)
    with pytest.warns(normtest.DegenerateDataWarning):
        table = ntd.check(ddf, multivariate=True, rng=1)
    joint = table.loc["(multivariate)"]
    assert np.isnan(joint.statistic) and "degenerate" in joint.note and joint.n == 300
    assert np.isfinite(table.loc["a"].statistic)
    with pytest.raises(ValueError, match="constant column"):
        ntd.sliced_epps_pulley(ddf, n_slices=4, rng=1, standardize=True).compute()
    with pytest.raises(ValueError, match="constant column"):
        normtest.sliced_epps_pulley(df.to_numpy(), n_slices=4, rng=1, standardize=True)
