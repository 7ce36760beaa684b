"""The one bounded cache: a thread-safe LRU map limited by entry count and/or bytes.

Every memo in the package (simulated Monte-Carlo nulls, limit laws and their
eigenvalues, shipped tables, EDF series) is a :class:`BoundedCache`, or a function
wrapped by :func:`memoize`. Each one registers itself, so
:func:`normtest.clear_null_cache` empties them all with :func:`clear_all`.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections import OrderedDict
from typing import Any, Callable, Hashable

__all__ = ["BoundedCache", "memoize", "clear_all"]

_MISSING = object()
_REGISTRY: "weakref.WeakSet[BoundedCache]" = weakref.WeakSet()
_REGISTRY_LOCK = threading.Lock()


class BoundedCache:
    """Least-recently-used map bounded by ``max_entries`` and/or ``max_bytes``.

    Parameters
    ----------
    max_entries : int or None
        Most entries kept (None: no count limit).
    max_bytes : int or None
        Most total size kept, as measured by `sizeof` (None: no size limit). The
        newest entry is always kept, even when it alone exceeds the limit.
    sizeof : callable, optional
        ``sizeof(value) -> int`` bytes of a value; required with `max_bytes`.

    Examples
    --------
    >>> from normtest._cache import BoundedCache
    >>> cache = BoundedCache(max_entries=2)
    >>> cache.put("a", 1); cache.put("b", 2); cache.put("c", 3)
    >>> print(cache.get("a"), cache.get("c"), len(cache))
    None 3 2
    """

    def __init__(self, max_entries: int | None = None, max_bytes: int | None = None,
                 sizeof: Callable[[Any], int] | None = None):
        if max_entries is None and max_bytes is None:
            raise ValueError("BoundedCache needs `max_entries` or `max_bytes`.")
        if max_bytes is not None and sizeof is None:
            raise ValueError("BoundedCache with `max_bytes` needs `sizeof`.")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._sizeof = sizeof
        self._data: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        with _REGISTRY_LOCK:
            _REGISTRY.add(self)

    def get(self, key: Hashable, default=None):
        """The value stored under `key` (marked most recently used), else `default`."""
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is _MISSING:
                return default
            self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value) -> None:
        """Store `value` under `key`, then evict the least recently used beyond the bounds."""
        with self._lock:
            if key in self._data:
                self._bytes -= self._size(self._data.pop(key))
            self._data[key] = value
            self._bytes += self._size(value)
            while len(self._data) > 1 and self._over():
                _, old = self._data.popitem(last=False)
                self._bytes -= self._size(old)

    def get_or_make(self, key: Hashable, make: Callable[[], Any]):
        """The cached value of `key`, or ``make()`` stored (computed outside the lock)."""
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = make()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key) -> bool:
        return key in self._data

    def _size(self, value) -> int:
        return self._sizeof(value) if self._sizeof is not None else 0

    def _over(self) -> bool:
        if self.max_entries is not None and len(self._data) > self.max_entries:
            return True
        return self.max_bytes is not None and self._bytes > self.max_bytes


def memoize(max_entries: int):
    """Decorator: cache a function of hashable arguments in a :class:`BoundedCache`.

    The wrapper has ``cache`` (the BoundedCache) and ``cache_clear()``.
    """

    def decorate(func):
        cache = BoundedCache(max_entries=max_entries)

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
            return cache.get_or_make(key, lambda: func(*args, **kwargs))

        wrapper.cache = cache
        wrapper.cache_clear = cache.clear
        return wrapper

    return decorate


def clear_all() -> None:
    """Empty every BoundedCache of the package."""
    with _REGISTRY_LOCK:
        caches = list(_REGISTRY)
    for cache in caches:
        cache.clear()
