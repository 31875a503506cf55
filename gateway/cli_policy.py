"""`gateway policy …`: check, test, explain, diff and what-if for privacy officers, from the command line.

  gateway policy check [--policies DIR]
  gateway policy test [--policies DIR]
  gateway policy explain REQUEST.json --as ORGANISATION [--policies DIR]
  gateway policy diff OLD_DIR NEW_DIR
  gateway policy whatif --policies CANDIDATE_DIR [--since YYYY-MM-DD] [--until YYYY-MM-DD]

Policy versions (four eyes: a second privacy officer approves; see docs/policy-guide.md). Every change asks for
the password of --user (an active local privacy-officer account), or reads it from stdin with --password-stdin:
  gateway policy propose DIR --user U [--note TEXT]     a draft version from a policies folder
  gateway policy versions | show V
  gateway policy submit V --user U
  gateway policy approve V --user U                     another privacy officer than the author
  gateway policy reject V --user U --reason TEXT
  gateway policy rollback V --user U                    a new version with V's content, for approval
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gateway.core.settings import Settings
from gateway.policy import compare, tools
from gateway.policy.bundle import load_bundle
from gateway.policy.tables import parse_tables
from gateway.policy_admin import cli as versions_cli


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def add_parser(sub: Any) -> None:
    policy = sub.add_parser("policy", help="check, test, explain, diff, what-if; propose and approve versions",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = policy.add_subparsers(dest="action", required=True)
    for name in ("check", "test"):
        actions.add_parser(name).add_argument("--policies", type=Path)
    explain = actions.add_parser("explain", help="why a request would be decided as it is, in plain Dutch")
    explain.add_argument("request", type=Path, help="a push request body (JSON), as in examples/")
    explain.add_argument("--as", dest="organisation", required=True, help="the sending organisation's id")
    explain.add_argument("--policies", type=Path)
    diff = actions.add_parser("diff", help="flows and fields that change between two policy versions")
    diff.add_argument("old", type=Path)
    diff.add_argument("new", type=Path)
    whatif = actions.add_parser("whatif", help="replay logged decision inputs against a candidate policy")
    whatif.add_argument("--policies", type=Path, required=True, help="the candidate policy folder")
    whatif.add_argument("--since", type=dt.date.fromisoformat)
    whatif.add_argument("--until", type=dt.date.fromisoformat)
    versions_cli.add_actions(actions)


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.action in versions_cli.ACTIONS:
        return versions_cli.run(args, settings)
    folder = getattr(args, "policies", None) or settings.policies_dir
    if args.action == "check":
        report = tools.check(load_bundle(folder))
        for problem in report.problems:
            _out(f"PROBLEM {problem}")
        _out("policy check: ok" if report.ok else f"policy check: {len(report.problems)} problem(s)")
        return 0 if report.ok else 1
    if args.action == "test":
        results = tools.run_tests(load_bundle(folder))
        for result in results:
            if not result.passed:
                _out(f"FAIL {result.name}")
        failed = sum(not r.passed for r in results)
        _out(f"{len(results) - failed} passed, {failed} failed")
        return 1 if failed or not results else 0
    if args.action == "explain":
        return _explain(args, settings, folder)
    if args.action == "diff":
        return _diff(args.old, args.new)
    return _whatif(args, settings, folder)


def _explain(args: argparse.Namespace, settings: Settings, folder: Path) -> int:
    from gateway.dossier.fields import flatten
    from gateway.exchange.records import policy_input
    from gateway.exchange.schemas import PushRequest
    from gateway.registry.organisations import load_registry

    registry = load_registry(settings.organisations_file)
    body = PushRequest.model_validate_json(args.request.read_text(encoding="utf-8"))
    sender, recipient = registry.get(args.organisation), registry.get(body.recipient)
    if sender is None or recipient is None:
        _out("unknown sending or receiving organisation")
        return 2
    dossier = body.dossier.model_dump(mode="json", exclude_none=True)
    fields = flatten(dossier)
    pin = policy_input(pattern="push", sender=sender, recipient=recipient, purpose=body.purpose,
                       professional_role=body.professional.role, context=body.context,
                       subject_roles=[str(p.get("role")) for p in dossier.get("persons", [])],
                       requested_categories=[f.category for f in fields if f.category != "structure"],
                       fields=fields, today=dt.date.today())
    bundle = load_bundle(folder)
    tables, _ = parse_tables(bundle.data["gateway"]["tables"])
    for line in tools.explain(tools.decide(bundle, pin), tables):
        _out(line)
    return 0


def _diff(old: Path, new: Path) -> int:
    a, _ = parse_tables(load_bundle(old).data["gateway"]["tables"])
    b, _ = parse_tables(load_bundle(new).data["gateway"]["tables"])
    if a is None or b is None:
        _out("a policy version does not pass its schema; run `gateway policy check` first")
        return 2
    rows = compare.diff(a, b)
    _out(f"{'stroom':<7}{'onderdeel':<40}{'was':<28}{'wordt'}")
    for row in rows:
        _out(f"{row.flow:<7}{row.aspect:<40}{row.before:<28}{row.after}")
    _out(f"{len(rows)} wijziging(en)")
    return 0


def _logged_records(settings: Settings, since: dt.date | None, until: dt.date | None) -> Iterator[dict[str, Any]]:
    from sqlmodel import Session, col, select

    from gateway.core.database import make_engine
    from gateway.exchange_log.models import LogEntry

    statement = select(LogEntry.entry).where(col(LogEntry.kind) == "exchange")
    if since:
        statement = statement.where(col(LogEntry.recorded_at) >= dt.datetime.combine(since, dt.time(), dt.UTC))
    if until:
        end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), dt.UTC)
        statement = statement.where(col(LogEntry.recorded_at) < end)
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            for entry in session.exec(statement.order_by(col(LogEntry.position))):
                yield json.loads(entry)
    finally:
        engine.dispose()  # close the pooled connection now, not whenever the engine is garbage-collected


def _whatif(args: argparse.Namespace, settings: Settings, folder: Path) -> int:
    report = compare.whatif(_logged_records(settings, args.since, args.until), load_bundle(folder))
    _out(f"{report.replayed} uitwisseling(en) opnieuw beslist; {len(report.changed_exchanges)} zouden veranderen")
    for (flow, before, after), n in sorted(report.outcome_changes.items()):
        _out(f"  {flow}: uitkomst {before} → {after}: {n}×")
    for (flow, field, before, after), n in sorted(report.field_changes.items()):
        _out(f"  {flow}: {field}: {before} → {after}: {n}×")
    return 0
