"""ZGW's JWT authentication: HS256 with a secret shared per client, made fresh for every call.

The ZGW standard (and Open Zaak) authenticate a client by a JWT it signs itself with the secret the
Autorisaties API holds for it: header `{"alg": "HS256", "typ": "JWT"}`, claims `iss` and `client_id` (the
client id), `iat`, `user_id` and `user_representation` (who acts; here the gateway itself). The receiving side
verifies the signature with the client's secret and refuses a token whose `iat` is too old or in the future.
Tokens carry no personal data.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Generator, Mapping

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey

_HEADER = {"alg": "HS256", "typ": "JWT"}


def zgw_token(*, client_id: str, secret: str, user_id: str, user_representation: str,
              now: Callable[[], float] = time.time) -> str:
    claims = {"iss": client_id, "client_id": client_id, "iat": int(now()), "user_id": user_id,
              "user_representation": user_representation}
    return jwt.encode(_HEADER, claims, OctKey.import_key(secret), algorithms=["HS256"])


class ZgwJwt(httpx.Auth):
    """`Authorization: Bearer <fresh ZGW JWT>` on every request (an HMAC is cheaper than caching)."""

    def __init__(self, *, client_id: str, secret: str, user_id: str, user_representation: str) -> None:
        self._client_id, self._user_id, self._user_representation = client_id, user_id, user_representation
        self._secret = secret

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = zgw_token(client_id=self._client_id, secret=self._secret, user_id=self._user_id,
                          user_representation=self._user_representation)
        request.headers["Authorization"] = f"Bearer {token}"
        yield request


class ZgwTokenError(Exception):
    """A ZGW JWT that is missing, malformed, wrongly signed, from an unknown client or too old. No token data."""


def _unverified(token: str) -> tuple[dict[str, object], dict[str, object]]:
    parts = token.split(".")
    try:
        header, payload = (json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))) for part in parts[:2])
    except (ValueError, binascii.Error):
        raise ZgwTokenError("malformed token") from None
    if len(parts) != 3 or not isinstance(header, dict) or not isinstance(payload, dict):
        raise ZgwTokenError("malformed token")
    return header, payload


def verify_zgw_token(authorization: str | None, secrets: Mapping[str, str], *, max_age: float = 300.0,
                     leeway: float = 30.0, now: Callable[[], float] = time.time) -> str:
    """The client id of a valid `Bearer` ZGW JWT, else `ZgwTokenError` (reason only)."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ZgwTokenError("no bearer token")
    header, payload = _unverified(token)  # the client id picks the secret to verify with
    if header.get("alg") != "HS256":
        raise ZgwTokenError("algorithm not allowed")
    client_id = payload.get("client_id") or payload.get("iss")
    if not isinstance(client_id, str) or client_id not in secrets:
        raise ZgwTokenError("unknown client")
    try:
        claims = jwt.decode(token, OctKey.import_key(secrets[client_id]), algorithms=["HS256"]).claims
    except (JoseError, ValueError):
        raise ZgwTokenError("bad signature") from None
    issued = claims.get("iat")
    if not isinstance(issued, int | float) or not now() - max_age <= issued <= now() + leeway:
        raise ZgwTokenError("token too old or not yet valid")
    if claims.get("iss") != client_id and claims.get("client_id") != client_id:
        raise ZgwTokenError("client id mismatch")
    return client_id
