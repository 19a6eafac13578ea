"""A small cache: Redis when REDIS_URL is set, a per-process dictionary otherwise.

Values are JSON. Used for data that can be rebuilt at any time (catalog listings); versions
(`incr`) make invalidation a counter bump instead of a key hunt.
"""

from __future__ import annotations

import json
import threading
import time

from flask import current_app

EXTENSION_KEY = "kameng.cache"
PREFIX = "kameng:cache:"


class LocalCache:
    def __init__(self, max_items: int = 10_000):
        self._data: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()
        self._max = max_items

    def get(self, key: str):
        item = self._data.get(key)
        if item is None or item[0] < time.monotonic():
            return None
        return json.loads(item[1])

    def set(self, key: str, value, ttl: int) -> None:
        with self._lock:
            if len(self._data) >= self._max:
                self._data.clear()
            self._data[key] = (time.monotonic() + ttl, json.dumps(value))

    def incr(self, key: str) -> int:
        with self._lock:
            current = int(json.loads(self._data.get(key, (0, "0"))[1])) + 1
            self._data[key] = (float("inf"), json.dumps(current))
            return current

    def get_int(self, key: str) -> int:
        value = self.get(key)
        return int(value) if value is not None else 0


class RedisCache:
    def __init__(self, redis_url: str):
        from redis import Redis

        self.redis = Redis.from_url(redis_url)

    def get(self, key: str):
        raw = self.redis.get(PREFIX + key)
        return json.loads(raw) if raw is not None else None

    def set(self, key: str, value, ttl: int) -> None:
        self.redis.set(PREFIX + key, json.dumps(value), ex=ttl)

    def incr(self, key: str) -> int:
        return int(self.redis.incr(PREFIX + key))

    def get_int(self, key: str) -> int:
        raw = self.redis.get(PREFIX + key)
        return int(raw) if raw is not None else 0


def cache():
    return current_app.extensions[EXTENSION_KEY]


def init_app(app) -> None:
    app.extensions[EXTENSION_KEY] = (
        RedisCache(app.config["REDIS_URL"]) if app.config["REDIS_URL"] else LocalCache()
    )
