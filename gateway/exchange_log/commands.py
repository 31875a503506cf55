"""`gateway log …`: verify, export and inspect the exchange log from the command line.

  gateway log verify --checkpoint FILE --public-key FILE [--database URL | --export FILE]
  gateway log check [--database URL]        quick local check: leaf hashes, positions, hash chain (no checkpoint)
  gateway log export --out FILE [--database URL]
  gateway log checkpoint [--out FILE] [--database URL]   the latest signed checkpoint kept in the database
  gateway log public-key [--out FILE]       the checkpoint verifier key, from the key directory
  gateway log verify-export BUNDLE [--public-key FILE]   check an export bundle offline (entries, proofs, signature)
  gateway log purge [--dry-run] [--database URL]         purge the content of records past their retention period

Exit code 0 only when everything verifies; 1 when something does not; 2 when the input cannot be read.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from gateway.core.settings import Settings
from gateway.exchange_log import retention
from gateway.exchange_log import verify as verifier
from gateway.exchange_log.checkpoint import NoteError, verifier_key
from gateway.exchange_log.verify_export import verify_bundle
from gateway.pseudonymise.signing import SigningKeyError, load_log_signer

UNREADABLE = 2


def _out(line: str) -> None:
    sys.stdout.write(line + "\n")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    log = sub.add_parser("log", help="the exchange log: verify, check, export",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = log.add_subparsers(dest="action", required=True)
    verify = actions.add_parser("verify", help="verify the log against a signed checkpoint and public key")
    verify.add_argument("--checkpoint", type=Path, required=True, help="signed note (GET /v1/log/checkpoint)")
    verify.add_argument("--public-key", type=Path, required=True,
                        help="verifier key, PEM or base64 Ed25519 key (GET /v1/log/public-key)")
    source = verify.add_mutually_exclusive_group()
    source.add_argument("--database", help="database URL (default: the gateway's own)")
    source.add_argument("--export", type=Path, help="JSON lines written by `gateway log export`")
    check = actions.add_parser("check", help="quick local check without a checkpoint")
    check.add_argument("--database")
    export = actions.add_parser("export", help="write the log as JSON lines {position, entry, leaf_hash}")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--database")
    checkpoint = actions.add_parser("checkpoint", help="print the latest signed checkpoint in the database")
    checkpoint.add_argument("--out", type=Path)
    checkpoint.add_argument("--database")
    public_key = actions.add_parser("public-key", help="print the checkpoint verifier key")
    public_key.add_argument("--out", type=Path)
    bundle = actions.add_parser("verify-export", help="verify an export bundle (zip) offline")
    bundle.add_argument("bundle", type=Path)
    bundle.add_argument("--public-key", type=Path, help="a verifier key you hold (default: the bundle's own)")
    purge = actions.add_parser("purge", help="purge the content of records whose retention period has passed")
    purge.add_argument("--dry-run", action="store_true", help="only say what would be purged")
    purge.add_argument("--database")


def run(args: argparse.Namespace, settings: Settings) -> int:
    database = getattr(args, "database", None) or settings.database_url
    try:
        return _dispatch(args, settings, database)
    except (SQLAlchemyError, OSError, NoteError, SigningKeyError, ValueError) as exc:
        # The type only: messages of database drivers can carry connection details.
        _out(f"cannot read the input: {type(exc).__name__}")
        return UNREADABLE


def _dispatch(args: argparse.Namespace, settings: Settings, database: str) -> int:  # noqa: PLR0911 - one per action
    if args.action == "verify":
        return _verify(args, database)
    if args.action == "check":
        return _report(verifier.verify(verifier.rows_from_database(database), note_text=None, public_key=None))
    if args.action == "export":
        count = verifier.write_export(verifier.rows_from_database(database), args.out)
        _out(f"{count} entries written to {args.out}")
        return 0
    if args.action == "checkpoint":
        return _latest_checkpoint(database, args.out)
    if args.action == "verify-export":
        return _verify_export(args)
    if args.action == "purge":
        from gateway.inzage.hooks import purge_recorder  # the admin audit trail lives in the web layer

        return retention.run_command(settings, database, dry_run=args.dry_run, out=_out,
                                     record=purge_recorder(f"cli:{getpass.getuser()}"))
    return _public_key(settings, args.out)


def _verify(args: argparse.Namespace, database: str) -> int:
    name, public_key = verifier.load_public_key(args.public_key.read_text(encoding="utf-8"))
    note_text = args.checkpoint.read_text(encoding="utf-8")
    if args.export is not None:
        rows, history = verifier.rows_from_export(args.export), []
    else:
        rows, history = verifier.rows_from_database(database), verifier.checkpoints_from_database(database)
    return _report(verifier.verify(rows, note_text=note_text, public_key=public_key, key_name=name,
                                   history=history))


def _verify_export(args: argparse.Namespace) -> int:
    key = args.public_key.read_text(encoding="utf-8") if args.public_key is not None else None
    report = verify_bundle(args.bundle, public_key_text=key)
    for line in report.lines():
        _out(line)
    return 0 if report.ok else 1


def _report(report: verifier.Report) -> int:
    for line in report.lines():
        _out(line)
    return 0 if report.ok else 1


def _latest_checkpoint(database: str, out: Path | None) -> int:
    engine = verifier.database_engine(database)
    try:
        with engine.connect() as connection:
            note = connection.execute(text(
                "SELECT note FROM log_checkpoint ORDER BY tree_size DESC LIMIT 1")).scalar_one_or_none()
    finally:
        engine.dispose()
    if note is None:
        _out("no checkpoint has been issued yet")
        return 1
    _write(str(note), out)
    return 0


def _public_key(settings: Settings, out: Path | None) -> int:
    signer = load_log_signer(settings.keys_dir, generate=False)
    _write(verifier_key(settings.checkpoint_origin, signer.public_key) + "\n", out)
    return 0


def _write(content: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(content)
    else:
        out.write_text(content, encoding="utf-8")
