"""Prometheus metrics. Labels are codes from closed sets (never identifiers or free text)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

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
        self.policy_errors = Counter("gateway_policy_errors_total", "Policy evaluations that failed closed",
                                     ["engine"], registry=self.registry)
