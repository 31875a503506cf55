"""Token endpoint logic: verify the client assertion, refuse replays, issue the access token."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from gateway.auth.binding import same_thumbprint
from gateway.auth.models import SeenAssertion
from gateway.auth.tokens import TokenService, VerifiedAssertion
from gateway.core.database import run_db
from gateway.core.errors import BadRequest, InvalidClient, InvalidGrant

GRANT_TYPE = "client_credentials"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class UnsupportedGrantType(BadRequest):
    code = "unsupported-grant-type"
    title = "Only the client_credentials grant is supported"


def check_certificate(tokens: TokenService, verified: VerifiedAssertion, certificate: str | None) -> None:
    """With binding on, a token is only issued over mutual TLS, and (if required) with a registered certificate."""
    if tokens.binding is None:
        return
    if certificate is None:
        raise InvalidClient(detail="This gateway binds access tokens to the client's TLS certificate: "
                                   "request the token over mutual TLS.", extra={"error": "invalid_client"})
    if tokens.binding.require_registered and not any(
            same_thumbprint(certificate, registered) for registered in tokens.registered_certificates(verified.client)):
        raise InvalidClient(detail="The TLS client certificate is not registered for this client.",
                            extra={"error": "invalid_client"})


async def token_response(*, tokens: TokenService, engine: Engine, form: dict[str, str],
                         now: dt.datetime, certificate: str | None = None) -> dict[str, object]:
    if form.get("grant_type") != GRANT_TYPE:
        raise UnsupportedGrantType(detail="Use grant_type=client_credentials.",
                                   extra={"error": "unsupported_grant_type"})
    if form.get("client_assertion_type") != ASSERTION_TYPE or not form.get("client_assertion"):
        raise InvalidClient(detail="Authenticate with private_key_jwt (client_assertion_type jwt-bearer).",
                            extra={"error": "invalid_client"})
    verified = tokens.verify_assertion(form["client_assertion"], client_id=form.get("client_id"), now=now)
    scopes = tokens.grant_scopes(verified.client, form.get("scope"))
    check_certificate(tokens, verified, certificate)

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
    token = tokens.issue(verified.organisation, verified.client, scopes, now, certificate_thumbprint=certificate)
    return {"access_token": token, "token_type": "Bearer", "expires_in": tokens.ttl, "scope": " ".join(scopes)}
