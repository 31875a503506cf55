"""Policy versions and their four-eyes activation: the one service the pages and the command line share.

Every function works inside the caller's write transaction (`run_db(..., write=True)`) and takes keyword
arguments. Versions are numbered 1, 2, … under a lock; exactly one is active. Activation (approval by a second
privacy officer, or the first start) signs the version, supersedes the previous one, and is appended to the
exchange log and the admin audit trail in the same transaction, so no version becomes active unrecorded.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, text
from sqlmodel import Session, col, select

from gateway.exchange_log import service as exchange_log
from gateway.policy import tools
from gateway.policy.bundle import PolicyBundle, bundle_from_files, bundle_hash
from gateway.policy_admin import signing
from gateway.policy_admin.errors import (
    FourEyesRequired,
    NotAPrivacyOfficer,
    PolicyVersionInvalid,
    PolicyVersionNotFound,
    PolicyVersionState,
    PolicyVersionTampered,
)
from gateway.policy_admin.models import ACTIVE, DRAFT, REJECTED, SUBMITTED, SUPERSEDED, PolicyVersion
from gateway.policy_admin.validation import table_problems, yaml_problems
from gateway.pseudonymise.signing import Signer
from gateway.web import audit
from gateway.web.accounts import role_list
from gateway.web.models import WebUser

SYSTEM = "systeem"  # the author and approver of the version seeded from disk at the very first start
LOG_KIND = "policy_activation"
_LOCK_KEY = 0x6B6762_706F6C  # "kgb" "pol": serialises version changes across replicas on PostgreSQL
ROLE = "privacy_officer"


@dataclass(frozen=True)
class Who:
    """The person acting, and from where (for the audit trail)."""

    username: str
    client: str | None = None


def _lock(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def files_of(version: PolicyVersion) -> dict[str, str]:
    files: dict[str, str] = json.loads(version.files)
    return files


def _dump(files: Mapping[str, str]) -> str:
    return json.dumps(dict(sorted(files.items())), ensure_ascii=False)


def get(session: Session, number: int) -> PolicyVersion:
    version = session.get(PolicyVersion, number)
    if version is None:
        raise PolicyVersionNotFound(detail=f"Beleidsversie {number} bestaat niet.")
    return version


def active(session: Session) -> PolicyVersion | None:
    return session.exec(select(PolicyVersion).where(col(PolicyVersion.state) == ACTIVE)).first()


def versions(session: Session) -> list[PolicyVersion]:
    return list(session.exec(select(PolicyVersion).order_by(col(PolicyVersion.number).desc())))


def verified_files(version: PolicyVersion, public_key: bytes) -> dict[str, str]:
    """The version's files, only if they match the stored hash and the signature covers that hash."""
    files = files_of(version)
    if bundle_hash(files) != version.bundle_hash:
        raise PolicyVersionTampered(detail=f"Beleidsversie {version.number}: de inhoud past niet bij de hash.")
    if not version.signature or not signing.valid(
            public_key, version.signature, number=version.number, bundle_hash=version.bundle_hash,
            author=version.author, approver=version.decided_by or ""):
        raise PolicyVersionTampered(detail=f"Beleidsversie {version.number}: de handtekening klopt niet.")
    return files


def verified_bundle(version: PolicyVersion, public_key: bytes) -> PolicyBundle:
    return bundle_from_files(verified_files(version, public_key))


def verified_active(session: Session, public_key: bytes) -> tuple[PolicyVersion, dict[str, Any]]:
    """The active version and its tables, verified (hash and signature) — what retention and labels go by.

    Raises PolicyVersionNotFound when no version is active and PolicyVersionTampered when it fails verification;
    never falls back to the bundle on disk.
    """
    version = active(session)
    if version is None:
        raise PolicyVersionNotFound(detail="Er is geen actieve beleidsversie.")
    tables: dict[str, Any] = verified_bundle(version, public_key).data["gateway"]["tables"]
    return version, tables


def _require_officer(session: Session, username: str) -> None:
    if username == SYSTEM:
        return
    user = session.get(WebUser, username)
    if user is None or not user.active or ROLE not in role_list(user):
        raise NotAPrivacyOfficer(detail="Alleen een privacy officer mag beleidsversies maken en beoordelen.")


def _validate(files: Mapping[str, str]) -> PolicyBundle:
    problems = yaml_problems(files)
    if problems:
        raise PolicyVersionInvalid(detail="Een tabel is geen geldige YAML.", invalid_params=problems)
    bundle = bundle_from_files(files)
    problems = table_problems(bundle.data["gateway"]["tables"])
    if problems:
        raise PolicyVersionInvalid(detail="Een tabel voldoet niet aan het schema.", invalid_params=problems)
    return bundle


def _next_number(session: Session) -> int:
    return int(session.exec(select(func.coalesce(func.max(PolicyVersion.number), 0))).one()) + 1


def _activate(session: Session, version: PolicyVersion, *, approver: str, signer: Signer,
              now: dt.datetime, log: bool = True) -> None:
    """Sign, supersede the active version, and record the activation in the exchange log (same transaction).

    The version seeded at the very first start is not logged (`log=False`): the log starts with the traffic,
    each exchange record names the hash it was decided under, and the next activation names it as previous.
    """
    previous = active(session)
    if previous is not None:
        previous.state = SUPERSEDED
        session.add(previous)
        session.flush()  # only one version is ever active, also inside this transaction
    version.state, version.decided_by, version.decided_at, version.activated_at = ACTIVE, approver, now, now
    version.previous_hash = previous.bundle_hash if previous is not None else None
    version.signing_key_id = signing.key_id(signer.public_key)
    version.signature = signing.sign(signer, number=version.number, bundle_hash=version.bundle_hash,
                                     author=version.author, approver=approver)
    version.log_position = None
    if log:
        version.log_position = exchange_log.append(session, kind=LOG_KIND, now=now, record={"policy": {
        "version": version.number, "bundle_hash": version.bundle_hash, "previous_hash": version.previous_hash,
        "previous_version": previous.number if previous is not None else None, "author": version.author,
        "approver": approver, "rollback_of": version.rollback_of, "source": version.source,
        "signing_key_id": version.signing_key_id}}).position
    version.updated_at = now
    session.add(version)


def seed(session: Session, *, files: Mapping[str, str], signer: Signer, now: dt.datetime,
         origin: str) -> PolicyVersion | None:
    """At the very first start the bundle on disk becomes version 1, active; afterwards this does nothing."""
    _lock(session)
    if session.exec(select(PolicyVersion.number).limit(1)).first() is not None:
        return None
    _validate(files)
    version = PolicyVersion(number=1, state=DRAFT, files=_dump(files), bundle_hash=bundle_hash(files),
                            source="first-start", note=f"Eerste start: het beleid uit {origin}.", author=SYSTEM,
                            created_at=now, updated_at=now, submitted_at=now)
    session.add(version)
    session.flush()
    _activate(session, version, approver=SYSTEM, signer=signer, now=now, log=False)
    audit.record(session, actor=SYSTEM, action="policy_approved", target="versie 1",
                 detail={"version": 1, "bundle_hash": version.bundle_hash, "first_start": True}, now=now)
    return version


def propose(session: Session, *, files: Mapping[str, str], who: Who, note: str, source: str,
            now: dt.datetime, base_number: int | None = None) -> PolicyVersion:
    """A new draft with these files (from a folder, or a copy of a version to edit)."""
    _require_officer(session, who.username)
    _validate(files)
    _lock(session)
    if base_number is None:
        current = active(session)
        base_number = current.number if current is not None else None
    version = PolicyVersion(number=_next_number(session), state=DRAFT, files=_dump(files),
                            bundle_hash=bundle_hash(files), source=source, note=note[:1000], author=who.username,
                            base_number=base_number, created_at=now, updated_at=now)
    session.add(version)
    session.flush()
    audit.record(session, actor=who.username, action="policy_draft_saved", target=f"versie {version.number}",
                 detail={"version": version.number, "bundle_hash": version.bundle_hash, "new": True,
                         "source": source}, client=who.client, now=now)
    return version


def draft_from(session: Session, *, number: int | None, who: Who, now: dt.datetime) -> PolicyVersion:
    """A new draft that starts as a copy of version `number` (the active one when None)."""
    base = get(session, number) if number is not None else active(session)
    if base is None:
        raise PolicyVersionNotFound(detail="Er is geen actieve beleidsversie.")
    return propose(session, files=files_of(base), who=who, note="", source="web", now=now,
                   base_number=base.number)


def save_draft(session: Session, *, number: int, who: Who, tables: Mapping[str, str], note: str | None,
               now: dt.datetime) -> PolicyVersion:
    """Replace some of a draft's table files (`data/<stem>.yaml` → text); only its author edits a draft."""
    version = _own_draft(session, number, who)
    files = files_of(version)
    unknown = [path for path in tables if path not in files or not path.startswith("data/")]
    if unknown:
        raise PolicyVersionInvalid(detail="Alleen bestaande tabellen kunnen worden bewerkt.")
    files.update({path: text.replace("\r\n", "\n") for path, text in tables.items()})
    _validate(files)
    version.files, version.bundle_hash, version.updated_at = _dump(files), bundle_hash(files), now
    if note is not None:
        version.note = note[:1000]
    session.add(version)
    audit.record(session, actor=who.username, action="policy_draft_saved", target=f"versie {number}",
                 detail={"version": number, "bundle_hash": version.bundle_hash}, client=who.client, now=now)
    return version


def _own_draft(session: Session, number: int, who: Who) -> PolicyVersion:
    _require_officer(session, who.username)
    version = get(session, number)
    if version.state != DRAFT:
        raise PolicyVersionState(detail=f"Versie {number} is geen concept meer en kan niet worden gewijzigd.")
    if version.author != who.username:
        raise FourEyesRequired(detail="Alleen de auteur van een concept mag het wijzigen of aanbieden.")
    return version


def readiness_problems(bundle: PolicyBundle) -> list[str]:
    """Why a version may not be submitted or activated: the check's problems and every failing Rego test."""
    problems = list(tools.check(bundle).problems)
    if not problems:
        try:
            results = tools.run_tests(bundle)
        except (RuntimeError, ValueError):  # a test module that does not compile
            return ["De Rego-tests kunnen niet worden geladen (een testbestand compileert niet)."]
        problems += [f"Rego-test faalt: {r.name}" for r in results if not r.passed]
        if not results:
            problems.append("De versie bevat geen Rego-tests.")
    return problems


def _require_ready(version: PolicyVersion) -> None:
    problems = readiness_problems(bundle_from_files(files_of(version)))
    if problems:
        raise PolicyVersionInvalid(detail="De controle of de Rego-tests slagen niet; los dat eerst op.",
                                   extra={"problems": problems[:50]})


def check_version(session: Session, *, number: int) -> str:
    """Check and test a version in a read transaction; `submit`/`approve` take the hash that passed."""
    version = get(session, number)
    _require_ready(version)
    return bundle_hash(files_of(version))


def _same_as_checked(version: PolicyVersion, checked_hash: str | None) -> None:
    if checked_hash is None:  # not checked beforehand: check here, inside the transaction
        _require_ready(version)
    elif not (checked_hash == version.bundle_hash == bundle_hash(files_of(version))):
        raise PolicyVersionState(detail=f"Versie {version.number} is gewijzigd sinds de controle; probeer het "
                                        "opnieuw.")


def submit(session: Session, *, number: int, who: Who, now: dt.datetime, note: str | None = None,
           checked_hash: str | None = None) -> PolicyVersion:
    version = _own_draft(session, number, who)
    _same_as_checked(version, checked_hash)
    version.state, version.submitted_at, version.updated_at = SUBMITTED, now, now
    if note:
        version.note = note[:1000]
    session.add(version)
    audit.record(session, actor=who.username, action="policy_submitted", target=f"versie {number}",
                 detail={"version": number, "bundle_hash": version.bundle_hash,
                         "rollback_of": version.rollback_of}, client=who.client, now=now)
    return version


def _decidable(session: Session, number: int, who: Who) -> PolicyVersion:
    _require_officer(session, who.username)
    _lock(session)
    version = get(session, number)
    session.refresh(version)  # the state as of this (locked) transaction
    if version.state != SUBMITTED:
        raise PolicyVersionState(detail=f"Versie {number} is niet ter goedkeuring aangeboden.")
    if version.author == who.username:
        raise FourEyesRequired(detail="Vier ogen: een andere privacy officer dan de auteur moet deze versie "
                                      "beoordelen.")
    return version


def approve(session: Session, *, number: int, who: Who, signer: Signer, now: dt.datetime,
            checked_hash: str | None = None) -> PolicyVersion:
    """Four eyes: a privacy officer other than the author (who re-authenticated) activates the version."""
    version = _decidable(session, number, who)
    # Checking and testing take a second: callers do it beforehand in a read transaction (`check_version`),
    # so the write lock is not held meanwhile; here only the content is confirmed to be what was checked.
    _same_as_checked(version, checked_hash)
    _activate(session, version, approver=who.username, signer=signer, now=now)
    action = "policy_rollback" if version.rollback_of is not None else "policy_approved"
    audit.record(session, actor=who.username, action=action, target=f"versie {number}",
                 detail={"version": number, "bundle_hash": version.bundle_hash, "author": version.author,
                         "previous_hash": version.previous_hash, "rollback_of": version.rollback_of,
                         "log_position": version.log_position}, client=who.client, now=now)
    return version


def reject(session: Session, *, number: int, who: Who, reason: str, now: dt.datetime) -> PolicyVersion:
    version = _decidable(session, number, who)
    version.state, version.decided_by, version.decided_at = REJECTED, who.username, now
    version.decision_note, version.updated_at = reason[:1000], now
    session.add(version)
    audit.record(session, actor=who.username, action="policy_rejected", target=f"versie {number}",
                 detail={"version": number, "bundle_hash": version.bundle_hash}, client=who.client, now=now)
    return version


def rollback(session: Session, *, number: int, who: Who, now: dt.datetime, note: str = "") -> PolicyVersion:
    """Propose going back to an earlier active version: a new version with its files, submitted for four eyes."""
    _require_officer(session, who.username)
    target = get(session, number)
    if target.state != SUPERSEDED:
        raise PolicyVersionState(detail="Terugzetten kan alleen naar een eerder actieve versie.")
    _lock(session)
    current = active(session)
    files = files_of(target)
    version = PolicyVersion(number=_next_number(session), state=SUBMITTED, files=_dump(files),
                            bundle_hash=bundle_hash(files), source="rollback", rollback_of=number,
                            note=note[:1000] or f"Terugzetten naar versie {number}.", author=who.username,
                            base_number=current.number if current is not None else None, created_at=now,
                            updated_at=now, submitted_at=now)
    session.add(version)
    session.flush()
    audit.record(session, actor=who.username, action="policy_submitted", target=f"versie {version.number}",
                 detail={"version": version.number, "bundle_hash": version.bundle_hash, "rollback_of": number},
                 client=who.client, now=now)
    return version
