"""A small cache: Redis when REDIS_URL is set, a per-process dictionary otherwise.

Values are JSON. Used for data that can be rebuilt at any time (catalog listings); versions
(`incr`) make invalidation a counter bump instead of a key hunt.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import OrderedDict

from flask import current_app

EXTENSION_KEY = "kameng.cache"
PREFIX = "kameng:cache:"


class LRU:
    """A thread-safe in-process LRU for values whose keys carry their versions, bounded by a
    number of entries or, when `max_bytes` is given, by the total size of bytes values."""

    def __init__(self, size: int, max_bytes: int | None = None):
        self._items: OrderedDict = OrderedDict()
        self._size = size
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            previous = self._items.pop(key, None)
            if self._max_bytes is not None:
                self._bytes += len(value) - (len(previous) if previous is not None else 0)
            self._items[key] = value
            while len(self._items) > self._size or (
                self._max_bytes is not None and self._bytes > self._max_bytes
            ):
                _, evicted = self._items.popitem(last=False)
                if self._max_bytes is not None:
                    self._bytes -= len(evicted)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0


def page_lru() -> LRU:
    """Gzipped storefront pages under versioned keys: up to 64 MB per process."""
    return LRU(size=200_000, max_bytes=64 * 1024 * 1024)


class LocalCache:
    """The in-process cache of the embedded default (one process, no Redis)."""

    def __init__(self, max_items: int = 10_000):
        self._data: dict[str, tuple[float, bytes]] = {}
        # Version counters live apart from cached values: evicting values must never reset them.
        self._versions: dict[str, int] = {}
        self._lock = threading.Lock()
        self._max = max_items
        self.memo = LRU(2000)  # built values under versioned keys
        self.pages = page_lru()

    def get_bytes(self, key: str) -> bytes | None:
        item = self._data.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return item[1]

    def set_bytes(self, key: str, value: bytes, ttl: int) -> None:
        with self._lock:
            if len(self._data) >= self._max:
                self._data.clear()
            self._data[key] = (time.monotonic() + ttl, value)

    def get(self, key: str):
        raw = self.get_bytes(key)
        return json.loads(raw) if raw is not None else None

    def set(self, key: str, value, ttl: int) -> None:
        self.set_bytes(key, json.dumps(value).encode(), ttl)

    def add(self, key: str, value, ttl: int) -> bool:
        """Set only if absent (or expired); True when this call set it."""
        with self._lock:
            item = self._data.get(key)
            if item is not None and item[0] >= time.monotonic():
                return False
            self._data[key] = (time.monotonic() + ttl, json.dumps(value).encode())
            return True

    def incr(self, key: str) -> int:
        with self._lock:
            self._versions[key] = self._versions.get(key, 0) + 1
            return self._versions[key]

    def get_int(self, key: str) -> int:
        return self._versions.get(key, 0)

    def get_ints(self, keys: list[str]) -> list[int]:
        return [self._versions.get(key, 0) for key in keys]


class RedisCache:
    """Redis-backed cache. Version counters are mirrored in-process: every bump is published on a
    channel that each process listens to, so reading versions costs no round trip, and a bump
    made anywhere is seen everywhere within a message's delivery time. Until the listener is
    subscribed (and after it loses its connection) versions are read from Redis directly."""

    def __init__(self, redis_url: str):
        from redis import Redis

        self.redis = Redis.from_url(redis_url)
        # Pub/sub channels are not scoped by database number: name ours after it.
        database = self.redis.connection_pool.connection_kwargs.get("db", 0)
        self.channel = f"{PREFIX}versions:db{database}"
        self._redis_url = redis_url
        self._versions: dict[str, int] = {}
        self._versions_lock = threading.Lock()
        self._listening = False
        self._listener: threading.Thread | None = None
        self._listener_pid: int | None = None
        self.memo = LRU(2000)
        self.pages = page_lru()

    def get(self, key: str):
        raw = self.redis.get(PREFIX + key)
        return json.loads(raw) if raw is not None else None

    def set(self, key: str, value, ttl: int) -> None:
        self.redis.set(PREFIX + key, json.dumps(value), ex=ttl)

    def add(self, key: str, value, ttl: int) -> bool:
        """Set only if absent; True when this call set it (one winner across processes)."""
        return bool(self.redis.set(PREFIX + key, json.dumps(value), ex=ttl, nx=True))

    def get_bytes(self, key: str) -> bytes | None:
        return self.redis.get(PREFIX + key)

    def set_bytes(self, key: str, value: bytes, ttl: int) -> None:
        self.redis.set(PREFIX + key, value, ex=ttl)

    # -- version counters ----------------------------------------------------------------------

    def incr(self, key: str) -> int:
        pipe = self.redis.pipeline()
        pipe.incr(PREFIX + key)
        value = pipe.execute()[0]
        self.redis.publish(self.channel, f"{key}={value}")
        self._remember(key, int(value))
        return int(value)

    def get_int(self, key: str) -> int:
        return self.get_ints([key])[0]

    def get_ints(self, keys: list[str]) -> list[int]:
        self._ensure_listener()
        if self._listening:
            known = [self._versions.get(k) for k in keys]
            if None not in known:
                return known  # type: ignore[return-value]
        values = [
            int(v) if v is not None else 0 for v in self.redis.mget([PREFIX + k for k in keys])
        ]
        if self._listening:
            for key, value in zip(keys, values, strict=True):
                self._remember(key, value)
        return values

    def _remember(self, key: str, value: int) -> None:
        # Versions only grow: keeping the larger one makes a late, stale read harmless.
        with self._versions_lock:
            if value > self._versions.get(key, -1):
                self._versions[key] = value

    def _reset(self) -> None:
        # Versions may restart from zero with Redis: drop everything keyed by the old numbers.
        self._listening = False
        with self._versions_lock:
            self._versions.clear()
        self.memo.clear()
        self.pages.clear()

    def _ensure_listener(self) -> None:
        pid = os.getpid()
        if self._listener is not None and self._listener_pid == pid and self._listener.is_alive():
            return
        self._listening = False
        self._versions.clear()
        self._listener_pid = pid
        self._listener = threading.Thread(target=self._listen, name="cache-versions", daemon=True)
        self._listener.start()

    def _listen(self) -> None:
        from redis import Redis
        from redis.exceptions import RedisError

        while True:
            try:
                pubsub = Redis.from_url(self._redis_url).pubsub()
                pubsub.subscribe(self.channel)
                for message in pubsub.listen():
                    if message["type"] == "subscribe":
                        self._listening = True
                    elif message["type"] == "message":
                        key, _, value = message["data"].decode().rpartition("=")
                        self._remember(key, int(value))
            except (RedisError, OSError, ValueError):
                pass
            self._reset()
            time.sleep(0.5)


def cache():
    return current_app.extensions[EXTENSION_KEY]


def init_app(app) -> None:
    app.extensions[EXTENSION_KEY] = (
        RedisCache(app.config["REDIS_URL"]) if app.config["REDIS_URL"] else LocalCache()
    )
