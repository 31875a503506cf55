"""The partner side of private_key_jwt: build a client assertion and fetch a token.

Used by the `gateway` command line, the tests and the benchmark, and a worked example for developers of
partner systems (see docs/api.md).
"""

from __future__ import annotations

import secrets
import time
from pathlib import Path

import httpx
from joserfc import jwt
from joserfc.jwk import RSAKey

from gateway.auth.service import ASSERTION_TYPE, GRANT_TYPE


def client_assertion(*, private_key_pem: bytes, client_id: str, audience: str, lifetime: int = 120,
                     jti: str | None = None, algorithm: str = "RS256") -> str:
    key = RSAKey.import_key(private_key_pem)
    key.ensure_kid()
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + lifetime,
              "jti": jti or secrets.token_urlsafe(24)}
    return jwt.encode({"alg": algorithm, "typ": "JWT", "kid": key.kid}, claims, key)


def token_form(assertion: str, scope: str | None = None) -> dict[str, str]:
    form = {"grant_type": GRANT_TYPE, "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    if scope:
        form["scope"] = scope
    return form


def fetch_token(*, base_url: str, client_id: str, private_key_path: Path, scope: str | None = None,
                timeout: float = 10.0) -> str:
    assertion = client_assertion(private_key_pem=private_key_path.read_bytes(), client_id=client_id,
                                 audience=f"{base_url.rstrip('/')}/oauth/token")
    response = httpx.post(f"{base_url.rstrip('/')}/oauth/token", data=token_form(assertion, scope), timeout=timeout)
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token
