"""Filters and queues on a log of thousands of exchanges return exactly the right records, in a few statements."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, update
from sqlmodel import Session, col

from gateway.core.database import write_session
from gateway.core.settings import Settings
from gateway.exchange_log.models import LogEntry
from gateway.exchange_log.purged import stub_entry
from gateway.pseudonymise.keyring import KeyRing, generate_keyring_json
from gateway.pseudonymise.pseudonyms import Pseudonymiser
from gateway.review import search as review_search
from gateway.review import views
from gateway.review.search import InvalidBsn, ReviewFilter, matching_entries, person_pseudonyms, queue_page
from tests.review.review_support import Spec, append_specs, bsn_pool, random_specs, template_record
from tests.support import BSN_CHILD, BSN_MOTHER, BSN_REPORTER

COUNT = 3000
START = dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)


@pytest.fixture
async def big_log(app: FastAPI, client: httpx.AsyncClient, settings: Settings) -> tuple[list[Spec], list[str]]:
    """The real push (positions 0 and 1) described as a spec too, then COUNT generated exchanges."""
    template = await template_record(client, settings, app)
    with Session(app.state.db) as session:
        first = session.get(LogEntry, 0)
        assert first is not None
    treatments: dict[str, str] = {}
    for f in template["fields"]:
        if f["category"] != "structure" and treatments.get(f["category"]) != "pass":
            treatments[f["category"]] = f["treatment"]
    real = Spec(position=0, recorded_at=first.recorded_at.replace(tzinfo=dt.UTC), sender=template["sender"]["id"],
                recipient=template["recipient"]["id"], flow=template["flow"], purpose=template["purpose"],
                outcome="allow", legal_basis=template["legal_basis"]["id"],
                professional=template["professional"]["pseudonym"], categories=treatments,
                persons=[BSN_CHILD, BSN_MOTHER, BSN_REPORTER])
    people = bsn_pool(60)
    specs = random_specs(COUNT, start=START, pseudonymiser=app.state.exchange.pseudonymiser, people=people)
    append_specs(app, template, specs)
    return [real, *specs], people


def _positions(session: Session, f: ReviewFilter) -> list[int]:
    return [e.position for e in matching_entries(session, f)]


def _expect(specs: list[Spec], predicate: Callable[[Spec], bool]) -> list[int]:
    return sorted(s.position for s in specs if predicate(s))


async def test_every_filter_returns_exactly_the_matching_records(app: FastAPI,
                                                                 big_log: tuple[list[Spec], list[str]]) -> None:
    specs, people = big_log
    pseudonymiser, registry = app.state.exchange.pseudonymiser, app.state.exchange.registry
    since, until = START + dt.timedelta(days=3), START + dt.timedelta(days=9)
    person = people[5]
    some = specs[1234]
    cases: list[tuple[ReviewFilter, Callable[[Spec], bool]]] = [
        (ReviewFilter(since=since, until=until), lambda s: since <= s.recorded_at < until),
        (ReviewFilter(organisation_id="gi-utrecht"), lambda s: "gi-utrecht" in (s.sender, s.recipient)),
        (ReviewFilter(flow="F4"), lambda s: s.flow == "F4"),
        (ReviewFilter(purpose="toeleiding_hulp"), lambda s: s.purpose == "toeleiding_hulp"),
        (ReviewFilter(legal_basis="jw-7.3.11-lid4-ots"), lambda s: s.legal_basis == "jw-7.3.11-lid4-ots"),
        (ReviewFilter(decision="deny", kind="exchange"), lambda s: s.outcome == "deny"),
        (ReviewFilter(category="health", kind="exchange"), lambda s: "health" in s.categories),
        (ReviewFilter(professional=some.professional), lambda s: s.professional == some.professional),
        (ReviewFilter(person_pseudonyms=person_pseudonyms(pseudonymiser, registry, person)),
         lambda s: person in s.persons),
        (ReviewFilter(flow="F2", decision="allow", category="justice", since=since),
         lambda s: s.flow == "F2" and s.outcome == "allow" and "justice" in s.categories and s.recorded_at >= since),
    ]
    with Session(app.state.db) as session:
        for given, predicate in cases:
            f = dataclasses.replace(given, kind="exchange")  # the delivery records are not described by the specs
            expected = _expect(specs, predicate)
            assert expected, f"the generated log should hold matches for {f}"
            assert _positions(session, f) == expected, f
            page = review_search.search(session, f, limit=25, offset=10)
            assert page.total == len(expected)
            assert [e.position for e in page.entries] == sorted(expected, reverse=True)[10:35]


def _check_kinds(app: FastAPI, big_log: tuple[list[Spec], list[str]]) -> None:
    specs, _ = big_log
    with Session(app.state.db) as session:
        deliveries = _positions(session, ReviewFilter(kind="delivery"))
        exchanges = _positions(session, ReviewFilter(kind="exchange"))
    # The real push left an exchange record and a delivery record before the generated ones.
    assert len(exchanges) == len(specs) == COUNT + 1
    generated_deliveries = sum(1 for n, s in enumerate(specs[1:]) if s.outcome == "allow" and n % 10 == 0)
    assert len(deliveries) == generated_deliveries + 1


def _check_queues(app: FastAPI, big_log: tuple[list[Spec], list[str]]) -> None:
    specs, _ = big_log
    expected = {
        "refused": _expect(specs, lambda s: s.outcome == "deny"),
        "escalated": _expect(specs, lambda s: s.outcome == "escalate"),
        "special": _expect(specs, lambda s: s.special),
        "reporter": _expect(specs, lambda s: s.reporter_released),
        "conflict": _expect(specs, lambda s: s.conflict),
        "break_glass": _expect(specs, lambda s: s.break_glass),
    }
    with Session(app.state.db) as session:
        for queue, positions in expected.items():
            page = queue_page(session, queue, state="all", limit=10_000)
            assert [e.position for e in page.entries] == positions, queue
            assert page.total == len(positions)


def _check_purged_entry_is_still_found(app: FastAPI, big_log: tuple[list[Spec], list[str]]) -> None:
    specs, _ = big_log
    f = ReviewFilter(category="health", kind="exchange")
    target = next(s for s in specs[1:] if "health" in s.categories)
    with write_session(app.state.db) as session:
        # What a retention purge does to an entry's content (a stub); its index rows were written at append.
        entry = session.get(LogEntry, target.position)
        assert entry is not None
        stub = stub_entry(json.loads(entry.entry), purged_by=99_999, purge_time="2026-12-01T00:00:00+00:00")
        session.execute(update(LogEntry).where(col(LogEntry.position) == target.position).values(entry=stub.decode()))
        session.commit()
        assert target.position in _positions(session, f)
        summary = views.summaries(session, review_search.search(session, dataclasses.replace(
            f, since=target.recorded_at, until=target.recorded_at + dt.timedelta(seconds=1))).entries, {})
    assert [(s.position, s.purged, s.categories) for s in summary] == [(target.position, True, [])]


def _check_search_cost(app: FastAPI, big_log: tuple[list[Spec], list[str]]) -> None:
    """A search is a fixed number of statements, whatever the size of the log or of the result: no query per row
    (speed itself is shown by the benchmarks, not by a timed assertion). And the page it returns is right."""
    specs, people = big_log
    persons = person_pseudonyms(app.state.exchange.pseudonymiser, None, people[0])
    until = START + dt.timedelta(days=2)
    cases: list[tuple[ReviewFilter, Callable[[Spec], bool]]] = [
        (ReviewFilter(category="health"), lambda s: "health" in s.categories),
        (ReviewFilter(person_pseudonyms=persons), lambda s: people[0] in s.persons),
        (ReviewFilter(flow="F2", decision="deny"), lambda s: s.flow == "F2" and s.outcome == "deny"),
        (ReviewFilter(professional=specs[5].professional), lambda s: s.professional == specs[5].professional),
        (ReviewFilter(since=START, until=until, organisation_id="vt-utrecht"),
         lambda s: START <= s.recorded_at < until and "vt-utrecht" in (s.sender, s.recipient)),
    ]
    statements: list[str] = []

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    engine = app.state.db
    with Session(engine) as session:
        for given, predicate in cases:
            f = dataclasses.replace(given, kind="exchange")  # the delivery records are not described by the specs
            expected = sorted(_expect(specs, predicate), reverse=True)
            assert len(expected) > 50, f"the generated log should hold more than a page of matches for {f}"
            session.connection()  # any connection set-up is not the search's own
            statements.clear()
            event.listen(engine, "before_cursor_execute", count)
            try:
                page = review_search.search(session, f, limit=50)
            finally:
                event.remove(engine, "before_cursor_execute", count)
            # The positions, the total and the entries: three statements, not one per match or per entry.
            assert len(statements) == 3, (f, statements)
            assert page.total == len(expected), f
            assert [e.position for e in page.entries] == expected[:50], f


async def test_a_search_on_a_large_log_is_a_few_statements(app: FastAPI,
                                                           big_log: tuple[list[Spec], list[str]]) -> None:
    _check_search_cost(app, big_log)


async def test_kinds_queues_and_purged_entries_on_a_large_log(app: FastAPI,
                                                             big_log: tuple[list[Spec], list[str]]) -> None:
    _check_kinds(app, big_log)
    _check_queues(app, big_log)
    _check_purged_entry_is_still_found(app, big_log)  # last: it changes an entry


def test_person_pseudonyms_need_a_valid_bsn_and_cover_every_key() -> None:
    ring = KeyRing.from_json(generate_keyring_json())
    pseudonymiser = Pseudonymiser(ring)
    with pytest.raises(InvalidBsn) as info:
        person_pseudonyms(pseudonymiser, None, "123456789")  # fails the 11-check
    assert "123456789" not in str(info.value)
    found = person_pseudonyms(pseudonymiser, None, "111 222 333")
    assert len(found) == len(ring.kids) and all(p.startswith("PS1.") for p in found)


def test_filter_names_used_never_hold_values() -> None:
    f = ReviewFilter(flow="F2", person_pseudonyms=frozenset({"PS1.x.y"}))
    assert f.used() == ["flow", "person"]
    assert dataclasses.replace(f, person_pseudonyms=frozenset()).is_person_search is False
