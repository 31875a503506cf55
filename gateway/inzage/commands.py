"""`gateway inzage --bsn-stdin --out report.html`: the inzage report (AVG art. 15) from the command line.

The BSN is read from standard input (never an argument: arguments end up in shell history and process lists),
turned into pseudonyms and forgotten. The report is one self-contained HTML file, print-ready. The action is
recorded in the admin audit trail as `cli:<user>`, without the BSN.

Exit code 0 on success; 1 when the input is not a valid BSN; 2 when the database or keys cannot be read, or
the database holds no verified active policy version (its tables name the purposes and categories).
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from gateway.core.database import make_engine, write_session
from gateway.core.errors import GatewayError
from gateway.core.settings import Settings
from gateway.inzage.document import labels_for, normalise_bsn, render_document
from gateway.inzage.report import InvalidBsnInput, build_report, person_pseudonyms
from gateway.policy_admin import service as policy_versions
from gateway.policy_admin.signing import load_policy_signer
from gateway.pseudonymise.keyring import KeyRingError, load_keyring
from gateway.pseudonymise.pseudonyms import Pseudonymiser
from gateway.pseudonymise.signing import SigningKeyError
from gateway.registry.organisations import load_registry
from gateway.web import audit

UNREADABLE = 2


def _err(line: str) -> None:
    sys.stderr.write(line + "\n")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    inzage = sub.add_parser("inzage", help="inzage report (AVG art. 15) for one person, BSN on stdin",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    inzage.add_argument("--bsn-stdin", action="store_true", required=True,
                        help="read the BSN from standard input (the only way to pass it)")
    inzage.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    inzage.add_argument("--database", help="database URL (default: the gateway's own)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        bsn = normalise_bsn(sys.stdin.readline().strip())
    except InvalidBsnInput:
        _err("the input is not a valid BSN (11-proef)")
        return 1
    try:
        pseudonyms = person_pseudonyms(Pseudonymiser(load_keyring(settings.keys_dir, generate=False)), bsn)
        del bsn
        policy_key = load_policy_signer(settings.keys_dir, generate=False).public_key
        engine = make_engine(args.database or settings.database_url)
        now = dt.datetime.now(dt.UTC)
        try:
            # On SQLite the write lock is taken at BEGIN (as the gateway does), so the audit append cannot fail
            # half-way on a lock upgrade while the gateway is running.
            with write_session(engine) as session:
                # Labels from the active, verified policy version (as the gateway's pages), not the disk bundle.
                _, tables = policy_versions.verified_active(session, policy_key)
                labels = labels_for(tables, load_registry(settings.organisations_file))
                report = build_report(session, pseudonyms=pseudonyms, labels=labels, now=now)
                audit.record(session, actor=f"cli:{getpass.getuser()}", action="inzage_report", now=now,
                             detail={"exchanges": len(report.items), "pseudonyms": len(pseudonyms),
                                     "format": "file"})
                session.commit()
        finally:
            engine.dispose()
        args.out.write_text(render_document(report), encoding="utf-8")
    except GatewayError as exc:
        _err(f"cannot make the report: no verified active policy version ({exc.detail or exc.title})")
        return UNREADABLE
    except (SQLAlchemyError, OSError, KeyRingError, SigningKeyError, ValueError) as exc:
        _err(f"cannot make the report: {type(exc).__name__}")  # the type only: no value can leak
        return UNREADABLE
    _err(f"inzage report written to {args.out}: {len(report.items)} exchange(s)")
    return 0
