"""The token endpoint and the discovery documents a partner's OAuth client needs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from gateway.auth.dependencies import presented_certificate
from gateway.auth.scopes import SCOPES
from gateway.auth.service import token_response
from gateway.auth.tokens import CLIENT_ASSERTION_ALGORITHMS
from gateway.core.errors import InvalidClient, UnsupportedMediaType

router = APIRouter(tags=["auth"])
_PROBLEM = {"content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}

_GRANT_DESCRIPTION = (
    """OAuth2 client credentials grant with `private_key_jwt` client authentication (RFC 7523,
NL GOV Assurance profile for OAuth 2.0). Send `grant_type=client_credentials`,
`client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer`, a `client_assertion` JWT signed
with the client's registered key (RS256, PS256 or ES256; `iss` = `sub` = client id, `aud` = this endpoint's URL,
`exp` at most 5 minutes ahead, a unique `jti`) and optionally `scope`. Each assertion is accepted once.
The answer is a short-lived RFC 9068 JWT access token."""
)


@router.post(
    "/oauth/token",
    summary="Obtain an access token (client credentials, private_key_jwt)",
    description=_GRANT_DESCRIPTION,
    responses={400: {"description": "Unsupported grant type, replayed assertion or scope not granted (`error`)",
                     **_PROBLEM},
               401: {"description": "Client authentication failed (`error`: invalid_client)", **_PROBLEM}},
    openapi_extra={"requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {
        "schema": {"type": "object", "required": ["grant_type", "client_assertion_type", "client_assertion"],
                   "properties": {"grant_type": {"type": "string", "enum": ["client_credentials"]},
                                  "client_assertion_type": {"type": "string"},
                                  "client_assertion": {"type": "string"},
                                  "client_id": {"type": "string"},
                                  "scope": {"type": "string"}}}}}}},
)
async def token(request: Request) -> JSONResponse:
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise UnsupportedMediaType(detail="Send the token request as application/x-www-form-urlencoded.")
    certificate = presented_certificate(request, InvalidClient, {"error": "invalid_client"})
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    body = await token_response(tokens=request.app.state.tokens, engine=request.app.state.db,
                                form=fields, now=dt.datetime.now(dt.UTC), certificate=certificate)
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/.well-known/jwks.json", summary="The gateway's public token-signing keys")
async def jwks(request: Request) -> dict[str, Any]:
    keys: dict[str, Any] = request.app.state.tokens.public_keys.as_dict()
    return keys


@router.get("/.well-known/oauth-authorization-server", summary="Authorization server metadata (RFC 8414)")
async def metadata(request: Request) -> dict[str, Any]:
    base = request.app.state.public_url
    bound = request.app.state.tokens.binding is not None
    return {
        "issuer": base,
        "token_endpoint": f"{base}/oauth/token",
        "jwks_uri": f"{base}/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGORITHMS,
        "scopes_supported": sorted(SCOPES),
    } | ({"tls_client_certificate_bound_access_tokens": True} if bound else {})
