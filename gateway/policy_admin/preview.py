"""What a privacy officer runs on a version before it is submitted: check, Rego tests, diff and what-if.

The what-if replays the decision inputs recorded in the exchange log over a chosen period; those inputs hold
no plaintext identifiers, so the report (counts per flow, outcome and field) is safe to show.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from gateway.exchange_log.models import LogEntry
from gateway.policy import compare, tools
from gateway.policy.bundle import PolicyBundle
from gateway.policy.tables import Tables, parse_tables

MAX_REPLAYED = 100_000  # a what-if over more traffic than this is cut off (and says so)


@dataclass
class CheckResult:
    problems: list[str]
    tests_passed: int
    tests_failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.tests_failed and self.tests_passed > 0


def check_and_test(bundle: PolicyBundle) -> CheckResult:
    problems = tools.check(bundle).problems
    try:
        results = tools.run_tests(bundle)
    except (RuntimeError, ValueError):
        return CheckResult(problems=[*problems, "De Rego-tests kunnen niet worden geladen."], tests_passed=0)
    return CheckResult(problems=problems, tests_passed=sum(r.passed for r in results),
                       tests_failed=[r.name for r in results if not r.passed])


def tables_of(bundle: PolicyBundle) -> Tables | None:
    tables, _ = parse_tables(bundle.data["gateway"]["tables"])
    return tables


def diff(old: PolicyBundle, new: PolicyBundle) -> list[compare.DiffRow] | None:
    a, b = tables_of(old), tables_of(new)
    return compare.diff(a, b) if a is not None and b is not None else None


def _records(session: Session, since: dt.date | None, until: dt.date | None) -> Iterator[dict[str, object]]:
    statement = select(LogEntry.entry).where(col(LogEntry.kind) == "exchange")
    if since:
        statement = statement.where(col(LogEntry.recorded_at) >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if until and until < dt.date.max:  # up to the last possible day: no bound (its next day would overflow)
        statement = statement.where(
            col(LogEntry.recorded_at) < dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC))
    for entry in session.exec(statement.order_by(col(LogEntry.position)).limit(MAX_REPLAYED)):
        yield json.loads(entry)


def whatif(session: Session, candidate: PolicyBundle, *, since: dt.date | None,
           until: dt.date | None) -> compare.WhatIfReport:
    return compare.whatif(_records(session, since, until), candidate)
