"""The cache: LRU bounds, and version counters shared by every process."""

import time

import pytest

from app.cache import LRU, LocalCache, RedisCache


def test_lru_evicts_the_least_recently_used_by_count_and_by_bytes():
    lru = LRU(size=2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == (1, None, 3)
    sized = LRU(size=100, max_bytes=10)
    sized.put("x", b"12345")
    sized.put("y", b"12345")
    sized.put("x", b"123")  # replacing frees the old size
    sized.put("z", b"12345")
    assert sized.get("y") is None and sized.get("x") == b"123" and sized.get("z") == b"12345"


def test_local_versions_only_grow_and_survive_eviction():
    cache = LocalCache(max_items=2)
    assert cache.get_ints(["v"]) == [0]
    assert cache.incr("v") == 1 and cache.incr("v") == 2
    for n in range(5):  # fill the value store past its bound: it is cleared, versions stay
        cache.set(f"k{n}", {"n": n}, 60)
    assert cache.get_int("v") == 2 and cache.get("k4") == {"n": 4}


def test_versions_bumped_in_one_process_are_seen_by_another(backend):
    if not backend.redis_url:
        pytest.skip("needs Redis")
    writer, reader = RedisCache(backend.redis_url), RedisCache(backend.redis_url)
    key = f"test:{time.time_ns()}:version"
    assert reader.get_int(key) == 0
    deadline = time.monotonic() + 2
    while not reader._listening:  # the reader's mirror subscribes in the background
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert reader.get_int(key) == 0
    writer.incr(key)
    writer.incr(key)
    deadline = time.monotonic() + 2
    while reader.get_int(key) != 2:
        assert time.monotonic() < deadline, "the bump never reached the other process"
        time.sleep(0.005)
    # A stale read arriving late never moves a mirrored version backwards.
    reader._remember(key, 1)
    assert reader.get_int(key) == 2
