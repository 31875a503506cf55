"""A circuit breaker per partner: stop hammering a partner that keeps failing; try again after a cool-down."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _State:
    failures: int = 0
    opened_at: float | None = None


@dataclass
class CircuitBreakers:
    threshold: int = 5
    cooldown_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    _states: dict[str, _State] = field(default_factory=dict)

    def allow(self, partner: str) -> bool:
        """Closed: yes. Open: no, until the cool-down has passed; then one trial call (half-open)."""
        state = self._states.get(partner)
        if state is None or state.opened_at is None:
            return True
        if self.clock() - state.opened_at >= self.cooldown_seconds:
            state.opened_at = self.clock()  # half-open: let this one call through, keep others out meanwhile
            return True
        return False

    def succeeded(self, partner: str) -> None:
        self._states.pop(partner, None)

    def failed(self, partner: str) -> None:
        state = self._states.setdefault(partner, _State())
        state.failures += 1
        if state.failures >= self.threshold:
            state.opened_at = self.clock()

    def is_open(self, partner: str) -> bool:
        state = self._states.get(partner)
        return state is not None and state.opened_at is not None
