"""numba kernels: ECF sums and the closed-form Epps–Pulley statistic against slow references."""

import ast
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from normtest import _numba
from normtest.ecf import _kernels
from normtest.ecf._kernels import FASTMATH, ecf_sums, ecf_sums_rows, ep_closed_form, ep_pair_cross

sys.path.insert(0, os.path.dirname(__file__))
from naive_ecf import mpmath_ep_statistic, naive_ecf_sums, naive_ep_statistic  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
ATOL_SUM = 1e-10  # per unit of n: sums of n O(1) terms


@pytest.mark.parametrize("m", [1, 3, 9])  # block path (m < 8) and column path (m >= 8)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("use_step", [True, False])
def test_ecf_sums_matches_naive(rng, m, dtype, use_step):
    n = 5000 if m < 8 else 700
    P = (rng.standard_normal((n, m)) * 3).astype(dtype)
    step = 0.37
    nodes = step * np.arange(1, 41)
    C, S = ecf_sums(P, nodes, step=step if use_step else None)
    Cr, Sr = naive_ecf_sums(P.astype(np.float64), nodes)
    assert C.dtype == np.float64 and C.shape == (m, 40)
    np.testing.assert_allclose(C, Cr, rtol=0, atol=ATOL_SUM * n)
    np.testing.assert_allclose(S, Sr, rtol=0, atol=ATOL_SUM * n)


def test_rows_layout_and_streaming(rng):
    X = rng.standard_normal((3, 9000))
    nodes = 0.25 * np.arange(1, 30)
    C1, S1 = ecf_sums(X.T, nodes, step=0.25)
    C2, S2 = ecf_sums_rows(X, nodes, step=0.25)
    np.testing.assert_allclose(C1, C2, rtol=0, atol=1e-9)
    # streaming row chunks through `out` adds up to the one-shot sums
    out = (np.zeros((3, 29)), np.zeros((3, 29)))
    for lo in range(0, 9000, 2500):
        ecf_sums(X.T[lo:lo + 2500], nodes, step=0.25, out=out)
    np.testing.assert_allclose(out[0], C1, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out[1], S1, rtol=0, atol=1e-9)
    with pytest.raises(ValueError, match="out"):
        ecf_sums(X.T, nodes, out=(np.zeros((2, 29)), np.zeros((2, 29))))
    with pytest.raises(ValueError, match="2-d"):
        ecf_sums(X[0], nodes)


def test_recurrence_error_is_bounded():
    # many nodes and large |x|: the re-anchored recurrence stays within ~1e-13 per term
    x = np.linspace(-200, 200, 1001)[:, None]
    step = 0.03
    nodes = step * np.arange(1, 501)
    C, S = ecf_sums(x, nodes, step=step)
    Cr, Sr = ecf_sums(x, nodes)  # direct sin/cos
    assert np.max(np.abs(C - Cr)) < 1e-13 * x.size * 10
    assert np.max(np.abs(S - Sr)) < 1e-13 * x.size * 10


def test_recurrence_against_mpmath_at_extreme_angles():
    # every term cos/sin(k a) of the Chebyshev recurrence (a = fl(h z), the kernel's angle) against
    # mpmath at the largest node count of the auto rule and at the angles where the three-term
    # recurrence is least stable (a ~ 0 and a ~ pi): within (REANCHOR + BLOCK)^2 ulp plus the
    # rounding of the reduction of k a
    import mpmath

    from normtest.ecf import _sincos
    from normtest.ecf.rules import AUTO_MAX_NODES, auto_rule

    cases = []
    K = AUTO_MAX_NODES
    h = 0.9 * _sincos.SINCOS_MAX / K / 3.0  # K h |z| within the polynomial's range for |z| <= 3
    cases.append((K, h, [0.0, 1e-300, 1e-9, -1e-9, 1e-4, 0.5, -1.0, 3.0, -3.0, (np.pi - 1e-9) / h / 2e4]))
    r = auto_rule(6.0, 1.0)  # the 1-D default at its largest spread: |a| < pi
    cases.append((r.nodes.size, r.step, [6.0, -6.0, 1e-12, (np.pi - 1e-10) / r.step, np.pi / 2 / r.step]))
    for K, h, z in cases:
        z = np.asarray(z)
        C, S = ecf_sums_rows(z[:, None], h * np.arange(1, K + 1), step=h)
        ks = np.unique(np.concatenate([np.arange(1, min(K, 80) + 1), np.arange(1, K + 1, 997),
                                       np.arange(max(1, K - 40), K + 1)]))
        with mpmath.workdps(30):
            for j, v in enumerate(z):
                a = float(h * v)
                for k in ks:
                    tol = np.finfo(float).eps * ((_sincos.REANCHOR + _sincos.BLOCK) ** 2 + 2 * k * abs(a))
                    assert abs(C[j, k - 1] - float(mpmath.cos(k * mpmath.mpf(a)))) <= tol, (K, v, k)
                    assert abs(S[j, k - 1] - float(mpmath.sin(k * mpmath.mpf(a)))) <= tol, (K, v, k)


def test_generic_nodes_out_of_range_and_nan(rng):
    # arbitrary nodes (one polynomial sin/cos per value and node), a tile with values beyond
    # the polynomial's range (redone with libm) and a NaN (propagates to its column only)
    P = rng.standard_normal((3000, 3)) * 2
    P[1500, 1] = 3.0e6          # K |a| > 1e5: this tile goes to libm
    P[10, 2] = np.nan
    nodes = np.array([0.13, 0.5, 1.1, 2.9, 7.3])
    for step, nd in ((None, nodes), (0.3, 0.3 * np.arange(1, 12))):
        C, S = ecf_sums(P, nd, step=step)
        Cr, Sr = naive_ecf_sums(P[:, :2], nd)
        np.testing.assert_allclose(C[:2], Cr, rtol=0, atol=ATOL_SUM * 3000)
        np.testing.assert_allclose(S[:2], Sr, rtol=0, atol=ATOL_SUM * 3000)
        assert np.isnan(C[2]).all() and np.isnan(S[2]).all()


def test_affine_sums_and_row_moments(rng):
    from normtest.ecf._passes import row_moments

    X = 1e8 + 1e-3 * rng.standard_normal((3, 70000))
    mom = row_moments(X)
    mean = (mom["m"] + mom["c"]) / mom["inv_p"]
    np.testing.assert_allclose(mean, X.mean(axis=1), rtol=1e-15)
    np.testing.assert_allclose(mom["s"] / mom["inv_p"], X.std(axis=1), rtol=1e-9)
    np.testing.assert_array_equal(mom["umax"] / mom["inv_p"], X.max(axis=1))
    B = np.stack([X[0], np.sort(X[1]), 2.0**600 * X[2]])  # one pass, sorted (two passes), scale beyond 2**450
    for key, val in row_moments(B).items():
        np.testing.assert_array_equal(val, [row_moments(b[None])[key][0] for b in B])
    # the sums of z = ((x / p - m) - c) / s formed inside the kernel equal those of z formed first
    Z = ((X * mom["inv_p"][:, None] - mom["m"][:, None]) - mom["c"][:, None]) / mom["s"][:, None]
    nodes = 0.3 * np.arange(1, 25)
    C, S = ecf_sums_rows(X, nodes, step=0.3, affine=(mom["inv_p"], mom["m"], mom["c"], 1 / mom["s"]))
    Cz, Sz = ecf_sums_rows(Z, nodes, step=0.3)
    np.testing.assert_allclose(C, Cz, rtol=0, atol=1e-9)
    np.testing.assert_allclose(S, Sz, rtol=0, atol=1e-9)


def test_fused_epps_pulley_matches_unfused(rng):
    import normtest
    from normtest.ecf import univariate

    x = 3.0 + 2.0 * rng.standard_normal(30000)
    fused = normtest.epps_pulley(x, method="asymptotic").statistic
    from normtest.ecf.core import standardize_rows

    Y, _ = standardize_rows(x[None, :])
    ref = univariate._statistic(np.ascontiguousarray(Y), 1.0, "auto", None)[0][0]
    assert abs(fused - ref) <= 1e-12 * ref
    # exact powers of two: the standardised data, hence the statistic, do not change
    for f in (2.0**-990, 2.0**990):
        assert abs(normtest.epps_pulley(f * x, method="asymptotic").statistic - fused) <= 1e-13 * fused


def test_fused_path_meets_nan_and_inf(rng):
    # the fused 1-D path reads no finiteness first (lazy_finite): its sums see NaN/inf and the
    # call is redone the checked way, with the NaN policies and the infinity error of any input
    import warnings

    import normtest

    x = rng.standard_normal(20000)
    ref = normtest.epps_pulley(np.delete(x, 7)).statistic
    x[7] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(normtest.epps_pulley(x).statistic)
        assert normtest.epps_pulley(x, nan_policy="omit").statistic == pytest.approx(ref, rel=1e-12)
        with pytest.raises(ValueError, match="NaN"):
            normtest.epps_pulley(x, nan_policy="raise")
        x[7] = -np.inf
        with pytest.raises(ValueError, match="infinite"):
            normtest.epps_pulley(x)
        x[7] = 1e300  # finite, but the sums overflow: the unfused path, no error
        assert np.isfinite(normtest.epps_pulley(x).statistic)


def test_row_scan(rng):
    from normtest.ecf._passes import row_scan

    X = rng.standard_normal((500, 7)).astype(np.float32)
    X[3, 2] = np.nan
    X[9, 0] = np.inf
    sq, nan_row, n_inf = row_scan(X)
    ref = np.einsum("ij,ij->i", X.astype(np.float64), X.astype(np.float64))
    ok = np.isfinite(ref)
    np.testing.assert_allclose(sq[ok], ref[ok], rtol=1e-13)
    assert nan_row.sum() == 1 and nan_row[3] and n_inf == 1


@pytest.mark.skipif(os.environ.get("NUMBA_DISABLE_JIT", "0") == "1", reason="reads compiled code")
def test_hot_loops_are_vectorised():
    # the rotation block and the anchor pass compile to packed SIMD code (xmm/ymm/zmm "pd" ops),
    # with the polynomial inlined (no call left) and its Cody-Waite steps free of "reassoc".
    # In a fresh process with numba's on-disk cache off, so that the kernels are compiled here
    # (a driver loaded from the cache leaves its inlined callees uncompiled, with no code to read)
    out = _run(_VECTORISED_SCRIPT, NORMTEST_NUMBA_CACHE="0")
    assert out == "ok", out


_VECTORISED_SCRIPT = r"""
import re
import numpy as np
from normtest.ecf import _sincos
from normtest.ecf._kernels import ecf_sums_rows

ecf_sums_rows(np.ones((8, 3000)), 0.1 * np.arange(1, 20), step=0.1)
block = _sincos.BLOCKS[_sincos.BLOCK, False]
asm = block.inspect_asm(block.signatures[0])
packed = re.findall(r"\bv?(?:mul|fmadd\d*|fmsub\d*|add)pd\b", asm)
assert len(packed) >= 4 * _sincos.BLOCK, len(packed)
sig = _sincos.anchor_pass.signatures[0]
llvm = _sincos.anchor_pass.inspect_llvm(sig)
assert re.search(r"<(2|4|8) x double>", llvm)
assert "sincos_poly" not in "".join(re.findall(r"call [^\n]*", llvm))
assert re.search(r"fmul nsz arcp contract <\d+ x double>", llvm)
print("ok")
"""


def test_closed_form_against_mpmath(rng):
    y = rng.standard_normal(150)
    y = (y - y.mean()) / y.std()
    for beta in (0.5, 1.0, 2.0):
        ref = mpmath_ep_statistic(y, beta)
        got = ep_closed_form(y, beta)[0]
        assert abs(got - ref) <= 5e-12 * max(1.0, abs(ref))


def test_closed_form_rows_and_pair_cross(rng):
    Y = rng.standard_t(3, size=(3, 400))
    got = ep_closed_form(Y, 1.0)
    ref = [naive_ep_statistic(r, 1.0) for r in Y]
    np.testing.assert_allclose(got, ref, rtol=1e-11)
    near, far = rng.standard_normal(1000), np.array([5.0, -7.0])
    ref = np.exp(-0.5 * (near[:, None] - far[None, :]) ** 2).sum(axis=0)
    np.testing.assert_allclose(ep_pair_cross(near, far), ref, rtol=1e-12)


def test_fastmath_guard():
    assert not {"nnan", "ninf", "fast"} & set(FASTMATH)
    assert set(_kernels.FASTMATH_STRICT) <= set(FASTMATH) and "reassoc" not in _kernels.FASTMATH_STRICT
    # every kernel in the package uses the one shared flag set (no hard-coded fastmath=)
    for path in (ROOT / "normtest").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "fastmath":
                assert isinstance(node.value, ast.Name) and node.value.id in ("FASTMATH", "_FASTMATH", "FASTMATH_STRICT"), path
                assert "_numba import" in path.read_text(), path
            if isinstance(node, ast.keyword) and node.arg == "cache":
                assert isinstance(node.value, ast.Name) and node.value.id in ("CACHE", "_CACHE"), path
    # the on-disk cache is on unless NORMTEST_NUMBA_CACHE=0 (or numba has nowhere to write)
    assert _kernels.CACHE is (os.environ.get("NORMTEST_NUMBA_CACHE", "1") != "0" and _numba.cache_available())
    # numba keys a cached kernel on its own file only: the kernel modules may import nothing else
    # from normtest than the flag sets of normtest/_numba.py
    for rel in _numba._KERNEL_FILES:
        tree = ast.parse((ROOT / "normtest" / rel).read_text())
        local = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level]
        # ecf/_kernels.py also inlines the vectorised sin/cos of ecf/_sincos.py (one kernel family,
        # always edited together; a build never changes either file)
        allowed = {"ecf/_kernels.py": ["_numba", "_sincos"]}.get(rel, ["_numba"])
        assert local == allowed, (rel, local)


def test_cache_switch_and_no_writable_location():
    # NORMTEST_NUMBA_CACHE=0 turns the cache off; with no place numba may write (here: only the
    # zip locator allowed) the kernels still import and run, compiled in the process
    code = ("import numpy as np, normtest; from normtest import _numba;"
            "print(_numba.CACHE, float(normtest.epps_pulley(np.arange(12.0)).statistic) > 0)")
    assert _run(code, NORMTEST_NUMBA_CACHE="0").split() == ["False", "True"]
    assert _run(code, NUMBA_CACHE_LOCATOR_CLASSES="ZipCacheLocator").split() == ["False", "True"]


_THREAD_SCRIPT = r"""
import hashlib, sys, numpy as np, normtest
from numba.core.registry import CPUDispatcher
from normtest.ecf import _kernels as ek
from normtest.edf import _kernels as dk
from normtest.multivariate import _kernels as mk


def digest():
    rng = np.random.default_rng(7)
    h = hashlib.sha256()
    P = rng.standard_normal((200000, 3))  # block path, parallel build (n m K above the serial limit)
    for arr in ek.ecf_sums(P, 0.3 * np.arange(1, 20), step=0.3) + ek.ecf_sums(P, np.linspace(0.1, 4, 13)):
        h.update(arr.tobytes())
    X = rng.standard_normal((40, 3000))  # column path, parallel and serial builds
    for arr in ek.ecf_sums_rows(X, 0.3 * np.arange(1, 20), step=0.3) + ek.ecf_sums_rows(X[:, :50], [0.5, 1.0]):
        h.update(arr.tobytes())
    h.update(ek.ep_closed_form(rng.standard_normal((2, 3000))).tobytes())
    h.update(ek.ep_closed_form(rng.standard_normal((1, 300))).tobytes())
    h.update(ek.ep_pair_cross(rng.standard_normal(5000), rng.standard_normal(500)).tobytes())
    res = normtest.epps_pulley(rng.standard_t(3, size=(3000, 2)), method=normtest.MonteCarlo(199, rng=3))
    h.update(np.asarray(res.statistic).tobytes())
    h.update(np.asarray(res.pvalue).tobytes())
    h.update(np.asarray(normtest.epps_pulley(rng.standard_normal(300000)).statistic).tobytes())  # fused 1-D
    import normtest.ecf._stream as sl
    saved, sl._CHUNK_VALUES = sl._CHUNK_VALUES, 64 * 16  # many tiles on the worker pipeline
    try:
        res = normtest.sliced_epps_pulley(rng.standard_normal((5000, 6)).astype(np.float32), n_slices=16, rng=1)
    finally:
        sl._CHUNK_VALUES = saved
    h.update(np.asarray(res.slice_statistics).tobytes())
    e = rng.exponential(size=(300, 41))  # the EDF and multivariate kernels
    for test in ("cramervonmises", "anderson"):
        h.update(dk.simulate_edf(e, test, True).tobytes() + dk.simulate_edf(e, test, False).tobytes())
    Y = rng.standard_normal((400, 4))
    for arr in (mk.kernel_statistic(Y, 1.0, "bhep"), mk.bhep_batch(rng.standard_normal((20, 60, 3)), 1.0),
                mk.kernel_statistic(Y, 1.0, "all"), mk.allslice_batch(rng.standard_normal((8, 60, 3)), 1.0, 1.5)):
        h.update(np.asarray(arr).tobytes())
    return h.hexdigest()


def cache_stats():
    # (cache hits, cache misses, compiled signatures) over every kernel that ran, generated twins
    # included (a callee inlined into a loaded kernel is not compiled on its own). Not counted: the
    # signatures with a jitted function as an argument (multivariate pair sums): numba's cache key
    # holds that function's address, so they compile in every process (known gap, see _numba.py)
    def cacheable(sig):
        return "CPUDispatcher" not in repr(sig)

    hits = misses = sigs = 0
    for mod in (ek, dk, mk):
        for obj in vars(mod).values():
            if isinstance(obj, CPUDispatcher):
                hits += sum(v for k, v in obj.stats.cache_hits.items() if cacheable(k))
                misses += sum(v for k, v in obj.stats.cache_misses.items() if cacheable(k))
                sigs += sum(1 for k in obj.signatures if cacheable(k))
    return hits, misses, sigs


if __name__ == "__main__":
    print(digest(), *cache_stats())
"""


def _run(script, **env):
    full = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    full.update(env)
    out = subprocess.run([sys.executable, "-c", script], env=full, capture_output=True, text=True,
                         timeout=600, cwd=str(ROOT))
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_bit_identical_across_thread_counts_and_cached_builds(tmp_path):
    import numba

    namespace = {}
    exec(compile(_THREAD_SCRIPT, "thread_script", "exec"), namespace)
    # in this process: the same kernels run on 1 and on all threads
    saved = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = namespace["digest"]()
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        many = namespace["digest"]()
    finally:
        numba.set_num_threads(saved)
    assert one == many and len(one) == 64
    # fresh processes sharing a new cache: the first compiles and writes every kernel, the later ones
    # load every kernel (no compilation) and agree with each other on 1 and on all threads
    env = dict(NORMTEST_NUMBA_CACHE="1", NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    cold, cold_hits, _, _ = _run(_THREAD_SCRIPT, NUMBA_NUM_THREADS="1", **env).split()
    warm_one, hits, misses, sigs = _run(_THREAD_SCRIPT, NUMBA_NUM_THREADS="1", **env).split()
    warm_many = _run(_THREAD_SCRIPT, **env).split()[0]
    assert cold_hits == "0" and misses == "0" and hits == sigs and int(sigs) >= 12
    assert warm_one == warm_many
    # a build is deterministic: this process's (compiled here, or loaded from another cache)
    # equals the new one of the same kind (a loaded build may differ from a compiled one in the
    # last bits, see normtest/_numba.py)
    in_hits, in_misses, _ = namespace["cache_stats"]()
    if in_hits == 0:
        assert many == cold
    elif in_misses == 0:
        assert many == warm_one


_NOJIT_SCRIPT = r"""
import sys, numpy as np, normtest
sys.path.insert(0, "tests")
from naive_ecf import naive_ecf_sums, naive_ep_statistic, standardize
from normtest.ecf._kernels import ecf_sums, ep_closed_form
rng = np.random.default_rng(3)
P = rng.standard_normal((300, 2))
C, S = ecf_sums(P, 0.4 * np.arange(1, 9), step=0.4)
Cr, Sr = naive_ecf_sums(P, 0.4 * np.arange(1, 9))
assert np.allclose(C, Cr, atol=1e-10) and np.allclose(S, Sr, atol=1e-10)
y = rng.standard_t(3, 120)
assert np.isclose(ep_closed_form(y)[0], naive_ep_statistic(y), rtol=1e-12)
res = normtest.epps_pulley(y, method="asymptotic")
assert np.isclose(res.statistic, naive_ep_statistic(standardize(y)), rtol=1e-9)
P[5, 1] = 4e6  # out-of-range tile (libm) and arbitrary nodes
nodes = np.array([0.2, 0.9, 1.7])
C, S = ecf_sums(P, nodes)
Cr, Sr = naive_ecf_sums(P, nodes)
assert np.allclose(C, Cr, atol=1e-10) and np.allclose(S, Sr, atol=1e-10)
print("ok")
"""


def test_disable_jit_subset():
    assert _run(_NOJIT_SCRIPT, NUMBA_DISABLE_JIT="1") == "ok"


@pytest.mark.parametrize("m", [1, 9])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_zmax_is_the_largest_magnitude_summed(rng, m, dtype):
    # the kernel reads max |z| in the pass that sums (the sliced "auto" rule's check), also with
    # the fused standardisation and non-lattice nodes; NaN reads as +inf
    X = (rng.standard_normal((m, 3000)) * 2).astype(dtype)
    nodes = 0.3 * np.arange(1, 12)
    for step in (0.3, None):
        z = np.full(m, 0.5)
        ecf_sums_rows(X, nodes, step, zmax=z)
        np.testing.assert_allclose(z, np.abs(X.astype(np.float64)).max(axis=1), rtol=1e-15)
    aff = (0.5, 1.0, 0.25, 3.0)
    z = np.zeros(m)
    ecf_sums_rows(X, nodes, 0.3, affine=aff, zmax=z)
    ref = np.abs(((X.astype(np.float64) * 0.5 - 1.0) - 0.25) * 3.0).max(axis=1)
    np.testing.assert_allclose(z, ref, rtol=1e-15)
    X[0, 7] = np.nan
    z = np.zeros(m)
    ecf_sums_rows(X, nodes, 0.3, zmax=z)
    assert z[0] == np.inf
    with pytest.raises(ValueError, match="zmax"):
        ecf_sums_rows(X, nodes, 0.3, zmax=np.zeros(m + 1))


@pytest.mark.parametrize("m", [1, 12])
def test_trig_points_matches_naive(rng, m):
    from normtest.ecf._kernels import trig_points

    Y = rng.standard_normal((m, 400)) * 2
    Y[0, :3] = [7.0, -9.0, np.nan]
    step, K, R = 0.31, 37, 6.5
    t = step * np.arange(1, K + 1)
    a, b = rng.standard_normal((m, K)), rng.standard_normal((m, K))
    out, P, Q = trig_points(Y, a, b, step, R, pq=True)
    near = np.abs(Y) <= R
    cos, sin = np.cos(Y[:, :, None] * t), np.sin(Y[:, :, None] * t)
    ref = np.where(near, (cos * a[:, None, :]).sum(-1) + (sin * b[:, None, :]).sum(-1), 0.0)
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-12)
    yy = np.where(near, Y, 0.0)[:, :, None]
    np.testing.assert_allclose(P, np.nansum(yy * sin, axis=1), rtol=0, atol=1e-11)
    np.testing.assert_allclose(Q, np.nansum(yy * cos, axis=1), rtol=0, atol=1e-11)
    assert trig_points(Y, a, b, step)[1] is None
    # a point beyond the polynomial's range (step y > 1e5): that tile by libm, the others unchanged
    Y2 = np.where(np.isfinite(Y), Y, 0.0)
    Y2[-1, 5] = 4e5
    out2 = trig_points(Y2, a, b, step)[0]
    ref2 = (np.cos(Y2[:, :, None] * t) * a[:, None, :]).sum(-1) + (np.sin(Y2[:, :, None] * t) * b[:, None, :]).sum(-1)
    np.testing.assert_allclose(out2[-1, 5], ref2[-1, 5], rtol=0, atol=1e-6)  # the reference's t_k y rounds
    ref2[-1, 5] = out2[-1, 5]
    np.testing.assert_allclose(out2, ref2, rtol=0, atol=1e-12)
