"""Token endpoint logic: verify the client assertion, refuse replays, issue the access token."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.auth.models import SeenAssertion
from gateway.auth.tokens import TokenService
from gateway.core.database import run_db
from gateway.core.errors import BadRequest, InvalidClient, InvalidGrant

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class UnsupportedGrantType(BadRequest):
    code = "unsupported-grant-type"
    title = "Only the client_credentials grant is supported"


async def token_response(*, tokens: TokenService, engine: Engine, form: dict[str, str],
                         now: dt.datetime) -> dict[str, object]:
    if form.get("grant_type") != GRANT_TYPE:
        raise UnsupportedGrantType(detail="Use grant_type=client_credentials.",
                                   extra={"error": "unsupported_grant_type"})
    if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
        raise InvalidClient(detail="Authenticate with private_key_jwt (client_assertion_type jwt-bearer).",
                            extra={"error": "invalid_client"})
    verified = tokens.verify_assertion(form["client_assertion"], client_id=form.get("client_id"), now=now)
    scopes = tokens.grant_scopes(verified.client, form.get("scope"))

    def remember(session: Session) -> None:
        # Expired assertions can no longer be replayed (exp is checked), so their ids need not be kept.
        session.execute(delete(SeenAssertion).where(SeenAssertion.expires_at < now))  # type: ignore[arg-type]
        session.add(SeenAssertion(client_id=verified.client.client_id, jti=verified.jti,
                                  expires_at=verified.expires_at))
        session.flush()

    try:
        await run_db(engine, remember, write=True)
    except IntegrityError as exc:
        raise InvalidGrant(detail="This client assertion was already used (jti replay).",
                           extra={"error": "invalid_grant"}) from exc
    token = tokens.issue(verified.organisation, verified.client, scopes, now)
    return {"access_token": token, "token_type": "Bearer", "expires_in": tokens.ttl, "scope": " ".join(scopes)}
