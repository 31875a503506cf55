"""Human login through OpenID Connect (production): authorization code flow with PKCE.

authlib builds the protocol messages (RFC 6749 grant URI and token request, RFC 7636 S256 challenge); the HTTP
calls go through the gateway's own httpx client (authlib's httpx integration is deprecated in favour of httpx2), and
the ID token is verified with joserfc (authlib's JOSE successor) against the provider's JWKS.

Configured by GATEWAY_OIDC_ISSUER, GATEWAY_OIDC_CLIENT_ID and GATEWAY_OIDC_CLIENT_SECRET_FILE. The identity
provider's roles claim (GATEWAY_OIDC_ROLES_CLAIM, default `roles`) decides the user's roles on every login; an
account without a known role gets no session. The state, nonce, PKCE verifier and return path travel in a short-
lived cookie sealed with AES-GCM (the key ring's `oidc-login` key), so no server-side state is needed between the
redirect and the callback, and any replica can complete the login.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import orjson
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlmodel import Session, col, select

from gateway.core.database import run_db
from gateway.core.errors import Forbidden, ServiceUnavailable
from gateway.core.settings import Settings
from gateway.pseudonymise.sealing import Sealer, SealError
from gateway.web import audit, sessions
from gateway.web.accounts import ROLES, USERNAME
from gateway.web.deps import client_address
from gateway.web.models import WebUser

router = APIRouter(prefix="/ui", include_in_schema=False)
PENDING_COOKIE = "kgb_oidc_pending"
PENDING_SECONDS = 600
ALLOWED_ALGORITHMS = ["RS256", "PS256", "ES256", "EdDSA"]


class OidcFailed(Forbidden):
    """The login at the organisation's identity provider did not complete (or gave no role for this gateway)."""

    code = "oidc-failed"
    title = "Login failed"


class OidcUnavailable(ServiceUnavailable):
    """The identity provider could not be reached."""

    code = "oidc-unavailable"
    title = "Identity provider unavailable"


@dataclass
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks: KeySet
    fetched_at: float


class OidcClient:
    """Discovery and JWKS (cached for an hour), the authorization URL and the code exchange (authlib)."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        if not settings.oidc_issuer or not settings.oidc_client_id:
            raise ValueError("OIDC needs GATEWAY_OIDC_ISSUER and GATEWAY_OIDC_CLIENT_ID")
        self.settings = settings
        self.transport = transport  # tests route to an in-process identity provider
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        secret_file = settings.oidc_client_secret_file
        self.client_secret = secret_file.read_text(encoding="utf-8").strip() if secret_file else None
        self.redirect_uri = f"{settings.public_url.rstrip('/')}/ui/oidc/callback"
        self._provider: Provider | None = None

    def _http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=self.transport, timeout=5.0)

    async def provider(self) -> Provider:
        if self._provider is not None and time.monotonic() - self._provider.fetched_at < 3600:
            return self._provider
        try:
            async with self._http() as http:
                meta = (await http.get(f"{self.issuer}/.well-known/openid-configuration")).raise_for_status().json()
                if str(meta.get("issuer", "")).rstrip("/") != self.issuer:
                    raise OidcUnavailable(detail="De identity provider meldt een andere issuer dan ingesteld.")
                jwks = (await http.get(meta["jwks_uri"])).raise_for_status().json()
            self._provider = Provider(issuer=meta["issuer"], authorization_endpoint=meta["authorization_endpoint"],
                                      token_endpoint=meta["token_endpoint"], jwks=KeySet.import_key_set(jwks),
                                      fetched_at=time.monotonic())
        except (httpx.HTTPError, KeyError, ValueError) as exc:
            raise OidcUnavailable(detail="De identity provider is niet bereikbaar; probeer het later opnieuw.") from exc
        return self._provider

    async def authorization_url(self, *, state: str, nonce: str, code_verifier: str, prompt: str | None) -> str:
        provider = await self.provider()
        extra: dict[str, str] = {"nonce": nonce, "code_challenge": create_s256_code_challenge(code_verifier),
                                 "code_challenge_method": "S256"}
        if prompt:
            extra.update(prompt="login", max_age="0")
        url: str = prepare_grant_uri(provider.authorization_endpoint, self.client_id, "code",
                                     redirect_uri=self.redirect_uri, scope=self.settings.oidc_scopes, state=state,
                                     **extra)
        return url

    async def exchange(self, *, code: str, code_verifier: str, nonce: str) -> dict[str, Any]:
        provider = await self.provider()
        body: str = prepare_token_request("authorization_code", code=code, redirect_uri=self.redirect_uri,
                                          code_verifier=code_verifier, client_id=self.client_id,
                                          **({"client_secret": self.client_secret} if self.client_secret else {}))
        try:
            async with self._http() as http:
                response = await http.post(provider.token_endpoint, content=body, headers={
                    "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise OidcUnavailable(detail="De identity provider is niet bereikbaar; probeer het later opnieuw.") from exc
        if response.status_code != 200:
            raise OidcFailed(detail="De identity provider weigerde de login.")
        try:
            answer = response.json()
        except ValueError:
            answer = None
        id_token = answer.get("id_token") if isinstance(answer, dict) else None
        if not isinstance(id_token, str):
            raise OidcFailed(detail="De identity provider gaf geen ID-token.")
        return self.verify_id_token(id_token, provider, nonce)

    def verify_id_token(self, id_token: str, provider: Provider, nonce: str) -> dict[str, Any]:
        try:
            token = jwt.decode(id_token, provider.jwks, algorithms=ALLOWED_ALGORITHMS)
            jwt.JWTClaimsRegistry(iss={"essential": True, "value": provider.issuer},
                                  aud={"essential": True, "value": self.client_id},
                                  exp={"essential": True}, sub={"essential": True},
                                  nonce={"essential": True, "value": nonce}, leeway=60).validate(token.claims)
        except (JoseError, ValueError) as exc:
            raise OidcFailed(detail="Het ID-token van de identity provider is ongeldig.") from exc
        claims: dict[str, Any] = dict(token.claims)
        return claims


def _sealer(request: Request) -> Sealer:
    return Sealer(request.app.state.keyring, "oidc-login")


def _client(request: Request) -> OidcClient:
    client: OidcClient | None = getattr(request.app.state, "oidc", None)
    if client is None:
        raise OidcFailed(detail="Inloggen via de organisatie is niet ingesteld.")
    return client


def user_from_claims(claims: dict[str, Any], settings: Settings) -> tuple[str, str, list[str], str | None]:
    raw_roles = claims.get(settings.oidc_roles_claim) or []
    if isinstance(raw_roles, str):
        raw_roles = raw_roles.split()
    if not isinstance(raw_roles, list):
        raw_roles = []  # a claim of another shape gives no role
    roles = sorted({str(r) for r in raw_roles} & set(ROLES))
    username = str(claims.get("preferred_username") or claims.get("email") or claims["sub"]).lower()
    username = re.sub(r"[^a-z0-9._@-]", "-", username)[:64]
    if not USERNAME.match(username):
        username = f"oidc-{secrets.token_hex(4)}"
    name = str(claims.get("name") or username)[:200]
    organisation = claims.get(settings.oidc_organisation_claim)
    return username, name, roles, str(organisation)[:100] if organisation else None


@router.get("/login/oidc")
async def start_login(request: Request, next: Annotated[str, Query(max_length=2000)] = "/ui/",  # noqa: A002
                      prompt: Annotated[str | None, Query(pattern="^login$")] = None) -> Response:
    from gateway.web.router import safe_next

    client = _client(request)
    state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
    url = await client.authorization_url(state=state, nonce=nonce, code_verifier=verifier, prompt=prompt)
    pending = orjson.dumps({"state": state, "nonce": nonce, "verifier": verifier, "next": safe_next(next),
                            "exp": int(time.time()) + PENDING_SECONDS})
    response = RedirectResponse(url, status_code=303)
    # SameSite=Lax: the identity provider's redirect back is a top-level cross-site GET.
    response.set_cookie(PENDING_COOKIE, _sealer(request).seal(pending, context="oidc"), httponly=True,
                        secure=request.app.state.settings.cookies_secure, samesite="lax", path="/ui/oidc",
                        max_age=PENDING_SECONDS)
    return response


@router.get("/oidc/callback")
async def callback(request: Request, code: Annotated[str | None, Query(max_length=4000)] = None,
                   state: Annotated[str | None, Query(max_length=200)] = None,
                   error: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    settings: Settings = request.app.state.settings
    client = _client(request)
    sealed = request.cookies.get(PENDING_COOKIE)
    try:
        pending = orjson.loads(_sealer(request).open(sealed or "", context="oidc"))
    except (SealError, ValueError, orjson.JSONDecodeError) as exc:
        raise OidcFailed(detail="De login is verlopen of niet hier begonnen; probeer opnieuw.") from exc
    if error or not code or not state or not secrets.compare_digest(state, pending["state"]) \
            or pending["exp"] < time.time():
        raise OidcFailed(detail="De login is afgebroken of verlopen; probeer opnieuw.")
    claims = await client.exchange(code=code, code_verifier=pending["verifier"], nonce=pending["nonce"])
    username, name, roles, organisation = user_from_claims(claims, settings)
    now = dt.datetime.now(dt.UTC)
    address = client_address(request)

    subject = str(claims["sub"])[:255]
    issuer = client.issuer

    def refuse(session: Session, reason: str, actor: str) -> None:
        audit.record(session, actor=actor, action="login_failed", outcome="refused",
                     detail={"method": "oidc", "reason": reason}, client=address, now=now)

    def work(session: Session) -> str | None:
        if not roles:
            refuse(session, "no_role", username)
            return None
        # The account is found by the provider's stable subject; the name the user has there only names a new one.
        user = session.exec(select(WebUser).where(col(WebUser.oidc_issuer) == issuer,
                                                  col(WebUser.oidc_subject) == subject)).first()
        if user is None:
            if session.get(WebUser, username) is not None:
                # A local account, or another person's OIDC account, already has this name: never take it over.
                refuse(session, "username_taken", username)
                return None
            user = WebUser(username=username, display_name=name, roles=",".join(roles),
                           organisation_id=organisation, created_at=now, oidc_issuer=issuer, oidc_subject=subject)
            audit.record(session, actor="oidc", action="user_created", target=username,
                         detail={"roles": roles, "organisation": organisation}, now=now)
        elif not user.active:
            refuse(session, "disabled", user.username)
            return None
        user.roles, user.display_name, user.organisation_id = ",".join(roles), name, organisation
        session.add(user)
        old = request.cookies.get(sessions.cookie_names(settings).session)
        if old:
            sessions.end(session, old, now)
        token, _row = sessions.start(session, user=user, auth_method="oidc", now=now)
        audit.record(session, actor=user.username, action="login", detail={"method": "oidc", "roles": roles},
                     client=address, now=now)
        return token

    token = await run_db(request.app.state.db, work, write=True)
    if token is None:
        raise OidcFailed(detail="Uw account heeft geen rol voor deze gateway, is uitgeschakeld, of uw gebruikersnaam "
                                "is al in gebruik door een ander account. Neem contact op met de beheerder.")
    from gateway.web.router import set_session_cookie

    response = RedirectResponse(pending["next"], status_code=303)
    set_session_cookie(response, settings, token)
    response.delete_cookie(PENDING_COOKIE, path="/ui/oidc", secure=settings.cookies_secure, httponly=True,
                           samesite="lax")
    return response
