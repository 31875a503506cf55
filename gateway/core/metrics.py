"""Prometheus metrics. Labels are codes from closed sets (never identifiers or free text)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.exchanges = Counter("gateway_exchanges_total", "Exchanges by decision, purpose and flow",
                                 ["pattern", "outcome", "purpose", "flow"], registry=self.registry)
        self.request_seconds = Histogram("gateway_request_seconds", "Whole request latency by route",
                                         ["route", "method"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.policy_seconds = Histogram("gateway_policy_decision_seconds", "Policy decision latency",
                                        ["engine"], buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.log_write_seconds = Histogram("gateway_log_write_seconds", "Durable log write latency",
                                           buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.adapter_errors = Counter("gateway_adapter_errors_total", "Partner adapter errors",
                                      ["adapter", "reason"], registry=self.registry)
        self.deliveries = Counter("gateway_deliveries_total", "Delivery and fetch outcomes by adapter",
                                  ["adapter", "operation", "outcome"], registry=self.registry)
        self.break_glass = Counter("gateway_break_glass_total", "Break-glass requests by flow and what came of them",
                                   ["flow", "applied", "unnecessary"], registry=self.registry)
        self._decision_cache: _DecisionCache | None = None
        self.policy_errors = Counter("gateway_policy_errors_total", "Policy evaluations that failed closed",
                                     ["engine"], registry=self.registry)

    def watch_decision_cache(self, source: Callable[[], tuple[int, int] | None]) -> None:
        """Export the active policy version's decision cache (hits, misses) at each scrape; the counts start at
        zero with each activated version, which Prometheus reads as a counter reset."""
        if self._decision_cache is None:  # one collector per registry, also when the lifespan runs again
            self._decision_cache = _DecisionCache(source)
            self.registry.register(self._decision_cache)
        self._decision_cache.source = source


class _DecisionCache(Collector):
    def __init__(self, source: Callable[[], tuple[int, int] | None]) -> None:
        self.source = source

    def collect(self) -> Iterator[CounterMetricFamily]:
        counts = self.source()
        if counts is None:  # no cache (the OPA sidecar engine)
            return
        family = CounterMetricFamily("gateway_policy_decision_cache", "Embedded policy decisions answered from "
                                     "the active version's cache (hit) or evaluated (miss)", labels=["result"])
        family.add_metric(["hit"], counts[0])
        family.add_metric(["miss"], counts[1])
        yield family
