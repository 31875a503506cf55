"""Rate limits per organisation and per professional: token buckets, answered with 429 and Retry-After.

Limits are kept per gateway process (a replica enforces its share); with N replicas behind a balancer an
organisation gets at most N times its limit, which the defaults allow for. The professional is keyed by their
log pseudonym, never their own id.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.core.errors import GatewayError


class RateLimited(GatewayError):
    code = "rate-limited"
    title = "Too many requests"
    status = 429


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class TokenBuckets:
    per_minute: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def _refill(self, key: str) -> _Bucket:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 100_000:  # forget the idle ones rather than grow without bound
                self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < 3600}
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_minute / 60.0)
        bucket.updated = now
        return bucket

    def wait(self, key: str) -> float:
        """Seconds until a token is available (0: one is available now); takes nothing."""
        bucket = self._refill(key)
        rate = self.per_minute / 60.0
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / rate

    def take(self, key: str) -> float:
        """0 when allowed (a token is taken), else the seconds until a token is available."""
        wait = self.wait(key)
        if wait == 0.0:
            self._buckets[key].tokens -= 1
        return wait


@dataclass
class Quotas:
    organisations: TokenBuckets
    professionals: TokenBuckets

    def check(self, *, organisation_id: str, professional_pseudonym: str) -> None:
        """Both limits must allow the request; a refused request uses up neither."""
        keys = ((self.organisations, organisation_id, "organisation"),
                (self.professionals, f"{organisation_id}/{professional_pseudonym}", "professional"))
        for buckets, key, who in keys:
            wait = buckets.wait(key)
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                raise RateLimited(detail=f"The {who} rate limit is reached; retry after {retry_after} s.",
                                  headers={"Retry-After": str(retry_after)})
        for buckets, key, _who in keys:
            buckets.take(key)
