"""normtest.spark on a local SparkSession: the in-memory numbers, partition by partition."""

import os

import numpy as np
import pytest

pyspark = pytest.importorskip("pyspark")
pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

import normtest  # noqa: E402

# building test frames from pandas 3 makes pyspark warn that it does not fully support it yet
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="module")
def spark():
    import shutil

    from pyspark.sql import SparkSession

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs a Java runtime (java on PATH or JAVA_HOME)")
    # local[2, 3]: two cores, a failed task is retried (up to 3 attempts)
    session = (SparkSession.builder.master("local[2, 3]").appName("normtest-tests")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.pyspark.enabled", "true")
               .config("spark.driver.memory", "1g").getOrCreate())
    yield session
    session.stop()


@pytest.fixture(scope="module")
def nts():
    return pytest.importorskip("normtest.spark")


def _parts(spark, frames):
    """A Spark DataFrame whose partitions are exactly `frames` (in order)."""
    out = None
    for f in frames:
        part = spark.createDataFrame(f).coalesce(1)
        out = part if out is None else out.unionByName(part)
    return out


def test_check_and_sliced_match_in_memory(spark, nts):
    gen = np.random.default_rng(5)
    df = pd.DataFrame({"a": gen.normal(size=6000), "b": gen.exponential(size=6000),
                       "c": gen.normal(2.0, 3.0, size=6000), "s": ["u", "v"] * 3000})
    df.loc[[3, 999], "c"] = np.nan
    sdf = spark.createDataFrame(df).repartition(3).cache()   # one shuffle, not one per pass
    # (the joint row of check is the same code as on dask, tested there; here n_slices=16 below)
    table = nts.check(sdf, tests=["epps_pulley", "cramervonmises"])
    ref = normtest.check(df, tests=["epps_pulley"])
    ep = table[table.test == "epps_pulley"]
    np.testing.assert_allclose(ep.statistic.to_numpy()[:3], ref.statistic.to_numpy()[:3], rtol=1e-9)
    np.testing.assert_allclose(ep.pvalue.to_numpy()[:3], ref.pvalue.to_numpy()[:3], rtol=1e-9, atol=1e-14)
    assert ep.n.tolist()[:3] == [6000, 6000, 5998] and ep.n_nan.tolist()[:3] == [0, 0, 2]
    edf = table[table.test == "cramervonmises"]
    assert edf.statistic.isna().all() and edf.note.iloc[:3].str.contains("order statistics").all()
    assert table.attrs["normtest"]["settings"]["engine"] == "spark"
    assert table.loc["s"].note.str.startswith("skipped").all()
    assert list(table.columns) == list(ref.columns)
    # (normtest.check dispatching a Spark frame is exercised by the CLI test below)

    X = df[["a", "b", "c"]].dropna().to_numpy()
    res = nts.sliced_epps_pulley(sdf, ["a", "b", "c"], n_slices=16, rng=4, nan_policy="omit", standardize=True)
    mem = normtest.sliced_epps_pulley(X, n_slices=16, rng=4, standardize=True)
    np.testing.assert_allclose(res.statistic, mem.statistic, rtol=1e-9)
    np.testing.assert_allclose(res.pvalue, mem.pvalue, rtol=1e-9)
    np.testing.assert_allclose([res.effect, *res.effect_ci], [mem.effect, *mem.effect_ci], rtol=1e-9)
    assert res.columns == ["a", "b", "c"] and res.n == 5998
    # bit-identical for a fixed partitioning, <= 1e-12 relative across partitionings (one-pass settings)
    kw = dict(n_slices=16, rng=4, nan_policy="omit", quadrature="lejepa")
    once = nts.sliced_epps_pulley(sdf, ["a", "b", "c"], **kw)
    assert nts.sliced_epps_pulley(sdf, ["a", "b", "c"], **kw).statistic == once.statistic
    other = nts.sliced_epps_pulley(sdf.repartition(5), ["a", "b", "c"], **kw)
    np.testing.assert_allclose(other.statistic, once.statistic, rtol=1e-12)
    np.testing.assert_allclose(once.statistic, normtest.sliced_epps_pulley(X, **kw).statistic, rtol=1e-9)


def test_float_columns_stay_float32_like_in_memory(spark, nts):
    # Spark float columns arrive as float32 (as toPandas gives them); the default sliced test places
    # the rows in pass 2 (offsets from pass 1's counts): the in-memory float32 numbers, not 1e-7 off
    X = np.random.default_rng(6).standard_normal((9000, 5)).astype(np.float32)
    local = pd.DataFrame(X, columns=list("abcde"))
    sdf = spark.createDataFrame(local)   # partitions hold the rows in order
    assert sdf.rdd.getNumPartitions() > 1 and {t for _, t in sdf.dtypes} == {"float"}
    res = nts.sliced_epps_pulley(sdf, n_slices=16, rng=2)
    mem = normtest.sliced_epps_pulley(local.to_numpy(), n_slices=16, rng=2)
    np.testing.assert_allclose(res.slice_statistics, mem.slice_statistics, rtol=1e-12)
    table = nts.check(sdf)
    ref = normtest.check(local, tests=["epps_pulley"])
    np.testing.assert_allclose(table.statistic.to_numpy(), ref.statistic.to_numpy(), rtol=1e-9)


def test_bad_partitions_and_inputs(spark, nts, tmp_path):
    gen = np.random.default_rng(8)
    x = gen.normal(size=500)
    frames = [pd.DataFrame({"v": x[:300]}), pd.DataFrame({"v": x[300:301]}),
              pd.DataFrame({"v": np.full(40, np.nan)}), pd.DataFrame({"v": x[301:]})]
    sdf = _parts(spark, frames).union(spark.createDataFrame(pd.DataFrame({"v": x[:0]}), "v double"))
    res = nts.epps_pulley(sdf, nan_policy="omit")
    ref = normtest.epps_pulley(x)
    np.testing.assert_allclose(res.statistic, ref.statistic, rtol=1e-9)
    assert res.n == 500
    assert np.isnan(nts.epps_pulley(sdf).statistic)   # propagate: the NaN partition makes it NaN
    lejepa = nts.epps_pulley(sdf, nan_policy="omit", standardize=False, quadrature="lejepa")
    np.testing.assert_allclose(lejepa.statistic, normtest.epps_pulley(x, standardize=False,
                                                                      quadrature="lejepa").statistic, rtol=1e-9)
    # scale extremes and large shifts (issue 15): the in-memory numbers of the exactly rescaled data
    ext = pd.DataFrame({"big": x * 1e200, "tiny": x * 1e-300, "shifted": 1e8 + 1e-6 * x,
                        "far": 3e15 + x})
    got = nts.epps_pulley(_parts(spark, [ext[:200], ext[200:]]))
    want = [normtest.epps_pulley(v).statistic for v in (x, x, ext.shifted - 1e8, ext.far - 3e15)]
    np.testing.assert_allclose(got.statistic, want, rtol=1e-12)
    # one column stored as int32 in one file and float64 in another: Spark's Parquet reader needs an
    # explicit schema (it refuses to merge them by itself); then the numbers are the in-memory ones
    mixed_dir = tmp_path / "mixed"
    mixed_dir.mkdir()
    pd.DataFrame({"v": np.arange(50, dtype=np.int32)}).to_parquet(mixed_dir / "a.parquet")
    pd.DataFrame({"v": gen.normal(size=50)}).to_parquet(mixed_dir / "b.parquet")
    both = np.concatenate([np.arange(50.0), pd.read_parquet(mixed_dir / "b.parquet").v.to_numpy()])
    table = nts.check(spark.read.schema("v double").parquet(str(mixed_dir)))
    np.testing.assert_allclose(table.statistic.iloc[0], normtest.epps_pulley(both).statistic, rtol=1e-9)
    assert table.n.tolist() == [100]
    # files with different columns: a column absent from a file counts as missing there
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    pd.DataFrame({"v": np.arange(50, dtype=np.int32)}).to_parquet(other_dir / "a.parquet")
    pd.DataFrame({"w": gen.normal(size=50)}).to_parquet(other_dir / "b.parquet")
    table = nts.check(spark.read.option("mergeSchema", "true").parquet(str(other_dir)))
    assert table.n.tolist() == [50, 50] and table.n_nan.tolist() == [50, 50]
    strings = spark.createDataFrame(pd.DataFrame({"s": ["a", "b", "c"], "v": [1.0, 2.0, 3.0]}))
    with pytest.raises(TypeError, match="numeric"):
        nts.sliced_epps_pulley(strings)
    with pytest.raises(ValueError, match="columns"):
        nts.epps_pulley(strings, columns=["nope"])
    with pytest.raises(TypeError, match="sdf"):
        nts.check(pd.DataFrame({"v": [1.0]}))


def _flaky(marker):
    def run(batches):
        from pyspark import TaskContext

        if TaskContext.get().partitionId() == 1 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)   # the Python worker dies mid-task; Spark retries the task
        yield from batches
    return run


def test_a_dying_worker_is_retried(spark, nts, tmp_path):
    gen = np.random.default_rng(9)
    df = pd.DataFrame({"a": gen.normal(size=3000), "b": gen.normal(size=3000)})
    sdf = spark.createDataFrame(df).repartition(3).cache()   # one shuffle, not one per pass
    clean = nts.sliced_epps_pulley(sdf, n_slices=8, rng=1)
    marker = str(tmp_path / "died")
    flaky = sdf.mapInArrow(_flaky(marker), sdf.schema)
    res = nts.sliced_epps_pulley(flaky, n_slices=8, rng=1)
    assert os.path.exists(marker)
    assert res.statistic == clean.statistic


def test_cli_engine_spark(spark, tmp_path, capsys):
    from normtest.__main__ import main

    gen = np.random.default_rng(2)
    for i in range(2):
        pd.DataFrame({"a": gen.normal(size=400), "b": gen.exponential(size=400)}).to_parquet(
            tmp_path / f"part{i}.parquet")
    both = pd.concat([pd.read_parquet(tmp_path / f"part{i}.parquet") for i in range(2)], ignore_index=True)
    code = main(["check", str(tmp_path / "*.parquet"), "--engine", "spark", "--test", "epps_pulley",
                 "--format", "csv"])
    out = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert code == 1   # the exponential column is rejected
    ref = normtest.check(both, tests=["epps_pulley"])
    np.testing.assert_allclose(out.statistic.to_numpy(), ref.statistic.to_numpy(), rtol=1e-9)
