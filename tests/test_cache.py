"""The one bounded cache helper (normtest._cache) and clear_null_cache()."""

import threading

import numpy as np
import pytest

import normtest
from normtest._cache import BoundedCache, memoize


def test_lru_by_entries_and_bytes():
    c = BoundedCache(max_entries=2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1          # "a" becomes the most recent
    c.put("c", 3)                   # evicts "b", the least recent
    assert "b" not in c and c.get("a") == 1 and c.get("c") == 3
    sized = BoundedCache(max_bytes=100, sizeof=lambda v: v.nbytes)
    sized.put(1, np.zeros(8))       # 64 bytes
    sized.put(2, np.zeros(8))       # 128 > 100: evicts 1
    assert 1 not in sized and 2 in sized
    sized.put(3, np.zeros(50))      # alone over the limit: still kept, the others go
    assert len(sized) == 1 and 3 in sized
    with pytest.raises(ValueError, match="max_entries"):
        BoundedCache()


def test_memoize_and_get_or_make_are_thread_safe():
    calls = []

    @memoize(4)
    def square(x, *, shift=0):
        calls.append(x)
        return x * x + shift

    assert square(3) == 9 and square(3) == 9 and square(3, shift=1) == 10
    assert calls == [3, 3]
    c = BoundedCache(max_entries=1000)
    errors = []

    def work(k):
        try:
            for i in range(200):
                assert c.get_or_make((k, i), lambda: k * i) == k * i
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(c) == 800


def test_clear_null_cache_clears_every_cache():
    from normtest.ecf import laws

    x = np.random.default_rng(0).standard_normal(50)
    normtest.epps_pulley(x, method="asymptotic")
    normtest.epps_pulley(x, method=normtest.MonteCarlo(n_resamples=50, rng=1))
    assert len(laws._ASYM_CACHE) > 0
    local = BoundedCache(max_entries=3)
    local.put("k", 1)
    normtest.clear_null_cache()
    assert len(laws._ASYM_CACHE) == 0 and len(local) == 0
    from normtest import null

    assert len(null._CACHE) == 0
