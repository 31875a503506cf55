"""`gateway policy propose|versions|show|submit|approve|reject|rollback`: policy versions from the command line.

The same service as the pages (gateway/policy_admin/service.py), against the gateway's database; a running
gateway picks an approved version up within GATEWAY_POLICY_RELOAD_SECONDS. Every action that changes something
(propose, submit, approve, reject, rollback) asks for the password of the `--user` it acts as (or reads it from
stdin with --password-stdin): an active local account with the privacy_officer role. So nobody can author as a
colleague and approve as themselves; the approver (or rejecter) must be another privacy officer than the author.
Each check, passed or failed, is recorded in the admin audit trail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from gateway.core.database import make_engine, write_session
from gateway.core.errors import GatewayError
from gateway.core.settings import Settings
from gateway.policy.bundle import read_bundle_files
from gateway.policy_admin import service
from gateway.policy_admin.models import PolicyVersion
from gateway.policy_admin.signing import load_policy_signer
from gateway.web import audit
from gateway.web.accounts import role_list
from gateway.web.models import WebUser
from gateway.web.passwords import verify_password

T = TypeVar("T")
ACTIONS = ("propose", "versions", "show", "submit", "approve", "reject", "rollback")
STATES_NL = {"draft": "concept", "submitted": "ter goedkeuring", "active": "actief", "superseded": "vervangen",
             "rejected": "afgewezen"}


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def add_actions(actions: Any) -> None:
    propose = actions.add_parser("propose", help="a new draft version from a policies folder")
    propose.add_argument("folder", type=Path)
    propose.add_argument("--user", required=True, help="your username (a privacy officer)")
    propose.add_argument("--password-stdin", action="store_true", help="read your password from stdin")
    propose.add_argument("--note", default="", help="what the change is for")
    actions.add_parser("versions", help="all policy versions, newest first")
    show = actions.add_parser("show", help="one version: state, people, hash, signature")
    show.add_argument("version", type=int)
    for name, text in (("submit", "submit a draft for approval"), ("approve", "approve and activate (four eyes)"),
                       ("reject", "reject a submitted version"), ("rollback", "propose going back to a version")):
        action = actions.add_parser(name, help=text)
        action.add_argument("version", type=int)
        action.add_argument("--user", required=True, help="your username (a privacy officer)")
        action.add_argument("--password-stdin", action="store_true", help="read your password from stdin")
        if name == "reject":
            action.add_argument("--reason", required=True)
        if name == "rollback":
            action.add_argument("--note", default="")


@contextmanager
def _engine(settings: Settings) -> Iterator[Engine]:
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def _write(engine: Engine, work: Callable[[Session], T]) -> T:
    # SQLite: take the write lock at BEGIN (gateway.core.database), as the gateway's own writers do.
    with write_session(engine, expire_on_commit=False) as session:
        result = work(session)
        session.commit()
        return result


def _read(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(engine, expire_on_commit=False) as session:
        return work(session)


def _line(v: PolicyVersion) -> str:
    decided = f", beoordeeld door {v.decided_by}" if v.decided_by else ""
    back = f", terug naar {v.rollback_of}" if v.rollback_of else ""
    return (f"{v.number:>4}  {STATES_NL.get(v.state, v.state):<16} auteur {v.author}{decided}{back}  "
            f"{v.bundle_hash[:19]}…  {v.note}")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        with _engine(settings) as engine:
            return _dispatch(args, settings, engine)
    except GatewayError as exc:
        _out(f"geweigerd: {exc.detail or exc.title}")
        for param in exc.invalid_params:
            _out(f"  {param.name}: {param.reason}")
        for problem in exc.extra.get("problems", []):
            _out(f"  {problem}")
        return 1


def _dispatch(args: argparse.Namespace, settings: Settings, engine: Engine) -> int:
    now = dt.datetime.now(dt.UTC)
    who = service.Who(getattr(args, "user", "") or "", "cli")
    if args.action == "versions":
        for version in _read(engine, service.versions):
            _out(_line(version))
        return 0
    if args.action == "show":
        return _show(engine, settings, args.version)
    if not _authenticated(args, engine, who, now):
        _out(f"geweigerd: het wachtwoord klopt niet of {who.username} is geen actieve privacy officer met een "
             "lokaal account; er is niets gewijzigd")
        return 1
    if args.action == "approve":
        return _approve(args, settings, engine, who, now)
    if args.action == "submit":  # check and test before the write transaction (they take a second)
        args.checked = _read(engine, lambda s: service.check_version(s, number=args.version))
    _out(_write(engine, lambda s: _change(s, args, who, now)))
    return 0


def _change(session: Session, args: argparse.Namespace, who: service.Who, now: dt.datetime) -> str:
    if args.action == "propose":
        files = read_bundle_files(args.folder)
        version = service.propose(session, files=files, who=who, note=args.note, source="cli", now=now)
        return f"concept versie {version.number} gemaakt ({version.bundle_hash})"
    if args.action == "submit":
        version = service.submit(session, number=args.version, who=who, now=now, checked_hash=args.checked)
        return f"versie {version.number} ter goedkeuring aangeboden; een andere privacy officer keurt haar goed"
    if args.action == "reject":
        service.reject(session, number=args.version, who=who, reason=args.reason, now=now)
        return f"versie {args.version} afgewezen"
    version = service.rollback(session, number=args.version, who=who, now=now, note=args.note)
    return f"versie {version.number} (terug naar {args.version}) ter goedkeuring aangeboden"


def _show(engine: Engine, settings: Settings, number: int) -> int:
    version = _read(engine, lambda s: service.get(s, number))
    _out(_line(version))
    _out(f"hash: {version.bundle_hash}")
    if version.signature:
        signer = load_policy_signer(settings.keys_dir, generate=False)
        try:
            service.verified_files(version, signer.public_key)
            _out(f"handtekening: geldig ({version.signing_key_id})")
        except GatewayError:
            _out("handtekening: ONGELDIG — deze versie wordt geweigerd")
    for path in sorted(service.files_of(version)):
        _out(f"  {path}")
    return 0


def _authenticated(args: argparse.Namespace, engine: Engine, who: service.Who, now: dt.datetime) -> bool:
    """The person named by --user proves it: the password of an active local privacy-officer account."""
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else getpass.getpass("Wachtwoord: ")

    def check(session: Session) -> bool:
        user = session.get(WebUser, who.username)
        # The hash is verified even for an unknown user (a dummy hash), so timing tells no usernames.
        matches = verify_password(user.password_hash if user is not None else None, password)
        ok = (matches and user is not None and user.active and service.ROLE in role_list(user))
        audit.record(session, actor=who.username, action="reauth" if ok else "reauth_failed",
                     outcome="ok" if ok else "refused", target=f"policy_{args.action}", client="cli", now=now)
        return ok

    return _write(engine, check)


def _approve(args: argparse.Namespace, settings: Settings, engine: Engine, who: service.Who,
             now: dt.datetime) -> int:
    signer = load_policy_signer(settings.keys_dir, generate=False)
    checked = _read(engine, lambda s: service.check_version(s, number=args.version))
    version = _write(engine, lambda s: service.approve(s, number=args.version, who=who, signer=signer, now=now,
                                                       checked_hash=checked))
    _out(f"versie {version.number} goedgekeurd en actief ({version.bundle_hash}); de gateways laden haar binnen "
         f"{settings.policy_reload_seconds:g} seconden")
    return 0
