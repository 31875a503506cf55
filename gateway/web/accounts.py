"""Local accounts (embedded default) and login throttling. OIDC accounts are created on first login (oidc.py)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from gateway.core.settings import Settings
from gateway.web import audit
from gateway.web.models import LoginThrottle, WebUser
from gateway.web.passwords import hash_password, needs_rehash, verify_password

ROLES = {"privacy_officer": "Privacy officer", "dpo": "Functionaris gegevensbescherming", "operator": "Beheerder"}
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
UNKNOWN_ACTOR = "(onbekend)"
_THROTTLE = LoginThrottle.__table__  # type: ignore[attr-defined]


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class ThrottlePolicy:
    max_failures: int = 5  # per username within the window, then locked
    max_failures_per_client: int = 20  # per client address within the window
    window: dt.timedelta = dt.timedelta(minutes=15)
    lockout: dt.timedelta = dt.timedelta(minutes=15)


def throttle_policy(settings: Settings) -> ThrottlePolicy:
    return ThrottlePolicy(max_failures=settings.web_login_max_failures,
                          max_failures_per_client=settings.web_login_max_failures_per_client,
                          lockout=dt.timedelta(minutes=settings.web_login_lockout_minutes))


@dataclass(frozen=True)
class LoginResult:
    user: WebUser | None
    locked_until: dt.datetime | None = None


def role_list(user: WebUser) -> frozenset[str]:
    return frozenset(r for r in user.roles.split(",") if r)


def create_user(session: Session, *, username: str, display_name: str, roles: list[str], password: str | None,
                organisation_id: str | None = None, actor: str = "cli", now: dt.datetime | None = None) -> WebUser:
    now = now or dt.datetime.now(dt.UTC)
    if not USERNAME.match(username):
        raise AccountError("Gebruikersnaam: kleine letters, cijfers en . _ @ -, 2 tot 64 tekens.")
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise AccountError(f"Onbekende of ontbrekende rol: {', '.join(unknown) or '(geen)'}; "
                           f"kies uit {', '.join(ROLES)}.")
    # Hashed before the first statement: on SQLite a writer holds the write lock from there to its commit.
    password_hash = hash_password(password) if password is not None else None
    if session.get(WebUser, username) is not None:
        raise AccountError(f"Gebruiker {username} bestaat al.")
    user = WebUser(username=username, display_name=display_name, organisation_id=organisation_id,
                   roles=",".join(sorted(set(roles))), created_at=now, password_hash=password_hash,
                   password_changed_at=now if password is not None else None)
    session.add(user)
    audit.record(session, actor=actor, action="user_created", target=username,
                 detail={"roles": sorted(set(roles)), "organisation": organisation_id}, now=now)
    return user


def set_password(session: Session, *, username: str, password: str, actor: str = "cli") -> None:
    password_hash = hash_password(password)  # before the first statement, as in create_user
    user = session.get(WebUser, username)
    if user is None:
        raise AccountError(f"Onbekende gebruiker {username}.")
    user.password_hash = password_hash
    user.password_changed_at = dt.datetime.now(dt.UTC)
    session.add(user)
    audit.record(session, actor=actor, action="password_changed", target=username)


def disable_user(session: Session, *, username: str, actor: str = "cli") -> None:
    user = session.get(WebUser, username)
    if user is None:
        raise AccountError(f"Onbekende gebruiker {username}.")
    user.active = False
    session.add(user)
    audit.record(session, actor=actor, action="user_disabled", target=username)


def list_users(session: Session) -> list[WebUser]:
    return list(session.exec(select(WebUser).order_by(col(WebUser.username))))


def _key(kind: str, value: str) -> str:
    return f"{kind}:{hashlib.sha256(value.encode()).hexdigest()[:64]}"


def _aware(row: LoginThrottle) -> LoginThrottle:
    if row.window_started_at.tzinfo is None:
        row.window_started_at = row.window_started_at.replace(tzinfo=dt.UTC)
    if row.locked_until is not None and row.locked_until.tzinfo is None:
        row.locked_until = row.locked_until.replace(tzinfo=dt.UTC)
    return row


def locked_until(session: Session, username: str, client: str, now: dt.datetime) -> dt.datetime | None:
    for key in (_key("user", username), _key("client", client)):
        row = session.get(LoginThrottle, key)
        if row is not None:
            row = _aware(row)
            if row.locked_until is not None and row.locked_until > now:
                return row.locked_until
    return None


def _fail(session: Session, key: str, limit: int, policy: ThrottlePolicy, now: dt.datetime) -> dt.datetime | None:
    """Count one failure atomically: concurrent attempts on several replicas must not undercount."""
    dialect = session.get_bind().dialect.name
    insert_for = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(insert_for(_THROTTLE).values(key=key, failures=0, window_started_at=now)
                    .on_conflict_do_nothing(index_elements=["key"]))
    # The row exists now; FOR UPDATE holds it until commit on PostgreSQL (SQLite's write lock already does).
    row = _aware(session.exec(select(LoginThrottle).where(col(LoginThrottle.key) == key).with_for_update()).one())
    if now - row.window_started_at > policy.window:
        row.failures, row.window_started_at, row.locked_until = 0, now, None
    row.failures += 1
    if row.failures >= limit:
        row.locked_until = now + policy.lockout
    session.add(row)
    return row.locked_until


def _clear(session: Session, username: str) -> None:
    row = session.get(LoginThrottle, _key("user", username))
    if row is not None:
        session.delete(row)


def password_attempt(session: Session, *, username: str, password: str, client: str, policy: ThrottlePolicy,
                     now: dt.datetime) -> tuple[bool, dt.datetime | None]:
    """Check a user's password again (re-authentication), under the same throttle as the login."""
    lock = locked_until(session, username, client, now)
    if lock is not None:
        return False, lock
    user = session.get(WebUser, username)
    if user is not None and user.active and verify_password(user.password_hash, password):
        _clear(session, username)
        return True, None
    return False, _fail(session, _key("user", username), policy.max_failures, policy, now)


def authenticate(session: Session, *, username: str, password: str, client: str,
                 policy: ThrottlePolicy, now: dt.datetime | None = None) -> LoginResult:
    """Check a local login, counting failures per username and per client address; records it in the audit trail."""
    now = now or dt.datetime.now(dt.UTC)
    username = username.strip().lower()
    user = session.get(WebUser, username) if USERNAME.match(username) else None
    # What was typed into the username field is recorded only when it names an account: a mistyped BSN or name
    # must not end up in the audit trail.
    actor = user.username if user is not None else UNKNOWN_ACTOR
    lock = locked_until(session, username, client, now)
    if lock is not None:
        audit.record(session, actor=actor, action="login_failed", outcome="refused",
                     detail={"reason": "locked"}, client=client, now=now)
        return LoginResult(user=None, locked_until=lock)
    ok = verify_password(user.password_hash if user else None, password) and user is not None and user.active
    if not ok or user is None:
        lock_user = _fail(session, _key("user", username), policy.max_failures, policy, now)
        lock_client = _fail(session, _key("client", client), policy.max_failures_per_client, policy, now)
        audit.record(session, actor=actor, action="login_failed", outcome="refused",
                     detail={"reason": "bad_credentials"}, client=client, now=now)
        return LoginResult(user=None, locked_until=lock_user or lock_client)
    _clear(session, username)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.add(user)
    return LoginResult(user=user)


def ensure_dev_accounts(session: Session, keys_dir: Path) -> Path | None:
    """First start of the embedded default: two privacy officers, a DPO and an operator with random passwords.

    The passwords go to keys/dev-accounts.txt (mode 0600, never committed); nothing happens once any account exists.
    """
    if session.exec(select(WebUser).limit(1)).first() is not None:
        return None
    accounts = [("po-anna", "Anna Veenstra (privacy officer)", ["privacy_officer"], "vt-utrecht"),
                ("po-bram", "Bram Bakker (privacy officer)", ["privacy_officer"], "gi-utrecht"),
                ("fg-carla", "Carla Smit (FG)", ["dpo"], None),
                ("beheer-daan", "Daan Mulder (beheer)", ["operator"], None)]
    lines = ["# Development accounts for the web pages (generated at first start; not for production)."]
    for username, name, roles, organisation in accounts:
        password = secrets.token_urlsafe(12)
        create_user(session, username=username, display_name=name, roles=roles, password=password,
                    organisation_id=organisation, actor="first-start")
        lines.append(f"{username}\t{','.join(roles)}\t{password}")
    path = keys_dir / "dev-accounts.txt"
    keys_dir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path
