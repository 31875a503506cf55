"""`gateway users …`: local accounts for the web pages (privacy officers, DPOs, operators).

  gateway users add USERNAME --role dpo [--role privacy_officer] [--organisation ORG] [--name "Naam"]
  gateway users list
  gateway users passwd USERNAME
  gateway users disable USERNAME

Passwords are read from the terminal (twice), or from standard input with --password-stdin; they are stored
only as Argon2id hashes. Every change is recorded in the admin audit trail.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from gateway.core.settings import Settings
from gateway.web.accounts import ROLES


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def add_parser(sub: Any) -> None:
    users = sub.add_parser("users", help="local accounts for the web pages", description=__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add")
    add.add_argument("username")
    add.add_argument("--role", action="append", choices=sorted(ROLES), required=True)
    add.add_argument("--organisation")
    add.add_argument("--name", help="display name (default: the username)")
    add.add_argument("--password-stdin", action="store_true")
    actions.add_parser("list")
    passwd = actions.add_parser("passwd")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true")
    disable = actions.add_parser("disable")
    disable.add_argument("username")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Wachtwoord: ")
    if getpass.getpass("Nogmaals: ") != first:
        raise ValueError("De wachtwoorden zijn niet gelijk.")
    return first


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sqlmodel import Session

    from gateway.core.database import make_engine, upgrade_to_head, write_session
    from gateway.web import accounts
    from gateway.web.passwords import WeakPassword

    engine = make_engine(settings.database_url)
    upgrade_to_head(engine)
    try:
        with (Session(engine) if args.action == "list" else write_session(engine)) as session:
            if args.action == "list":
                for user in accounts.list_users(session):
                    state = "actief" if user.active else "uitgeschakeld"
                    login = "wachtwoord" if user.password_hash else "OIDC"
                    _out(f"{user.username:<24}{user.roles:<28}{user.organisation_id or '-':<28}{login:<12}{state}")
                return 0
            if args.action == "add":
                accounts.create_user(session, username=args.username, display_name=args.name or args.username,
                                     roles=args.role, password=_password(args.password_stdin),
                                     organisation_id=args.organisation)
            elif args.action == "passwd":
                accounts.set_password(session, username=args.username, password=_password(args.password_stdin))
            else:
                accounts.disable_user(session, username=args.username)
            session.commit()
    except (accounts.AccountError, WeakPassword, ValueError) as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    finally:
        engine.dispose()
    _out("ok")
    return 0
