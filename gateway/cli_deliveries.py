"""`gateway deliveries …`: what the outbox holds, and a manual retry of dead letters (for operators).

  gateway deliveries list [--status dead]
  gateway deliveries retry EXCHANGE_ID
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from gateway.core.settings import Settings


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def add_parser(sub: Any) -> None:
    deliveries = sub.add_parser("deliveries", help="the delivery outbox: list jobs, retry dead letters",
                                description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = deliveries.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list")
    listing.add_argument("--status", choices=["pending", "in_flight", "delivered", "dead"])
    retry = actions.add_parser("retry")
    retry.add_argument("exchange_id")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from sqlmodel import Session, col, select

    from gateway.core.database import make_engine
    from gateway.relay import outbox
    from gateway.relay.models import DeliveryJob

    engine = make_engine(settings.database_url)
    if args.action == "list":
        with Session(engine) as session:
            statement = select(DeliveryJob).order_by(col(DeliveryJob.created_at))
            if args.status:
                statement = statement.where(col(DeliveryJob.status) == args.status)
            for job in session.exec(statement):
                _out(f"{job.exchange_id}  {job.recipient_id:<28}{job.status:<10}attempts={job.attempts:<3}"
                     f"last_error={job.last_error or '-'}")
            _out(" ".join(f"{k}={v}" for k, v in sorted(outbox.status_counts(session).items())) or "no jobs")
        return 0
    from gateway.exchange.delivery import retry_dead_letter

    # Only the database is needed for a requeue; the running gateways' delivery workers do the sending.
    requeued = asyncio.run(retry_dead_letter(engine, args.exchange_id))
    _out("requeued; a running gateway delivers it" if requeued else "not a dead letter with a payload to retry")
    return 0 if requeued else 1
