"""OAuth2 client credentials with `private_key_jwt` (RFC 7523, NL GOV profile) and RFC 9068 access tokens.

JOSE work uses joserfc, the JOSE library of the Authlib project (Authlib's own `authlib.jose` is deprecated
in its favour). Algorithms are allow-listed: asymmetric only, so neither `none` nor HMAC-with-a-public-key
confusion can pass.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

from gateway.auth.binding import THUMBPRINT_CLAIM, CertificateBinding, registered_thumbprints
from gateway.auth.keys import KeyMaterialError, client_keyset
from gateway.core.errors import InvalidClient, InvalidGrant, InvalidToken
from gateway.registry.organisations import ClientConfig, Organisation, OrganisationRegistry

CLIENT_ASSERTION_ALGORITHMS = ["RS256", "PS256", "ES256"]
ACCESS_TOKEN_ALGORITHM = "RS256"  # noqa: S105 - an algorithm name
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Principal:
    organisation: Organisation
    client_id: str
    scopes: frozenset[str]
    token_id: str
    # RFC 8705: the x5t#S256 thumbprint the token is bound to, None for an unbound token.
    certificate_thumbprint: str | None = None


@dataclass(frozen=True)
class VerifiedAssertion:
    organisation: Organisation
    client: ClientConfig
    jti: str
    expires_at: dt.datetime


def _unverified_claims(assertion: str) -> dict[str, Any]:
    """Read the claims only to find out which client's keys to verify with; nothing is trusted yet."""
    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError) as exc:
        raise InvalidClient(detail="The client assertion is not a JWT.") from exc
    if not isinstance(claims, dict):
        raise InvalidClient(detail="The client assertion is not a JWT.")
    return claims


class TokenService:
    def __init__(self, *, registry: OrganisationRegistry, keys_dir: Path, signing_key: RSAKey, issuer: str,
                 token_endpoint: str, audience: str, ttl_seconds: int, assertion_max_age: int,
                 binding: CertificateBinding | None = None) -> None:
        self.registry = registry
        self.signing_key = signing_key
        self.public_keys = KeySet([RSAKey.import_key(signing_key.as_dict(private=False))])
        self.issuer = issuer
        self.token_endpoint = token_endpoint
        self.audience = audience
        self.ttl = ttl_seconds
        self.assertion_max_age = assertion_max_age
        self.binding = binding  # None: tokens are not bound to a client certificate
        self._client_keys: dict[str, KeySet] = {}
        self._client_certificates: dict[str, frozenset[str]] = {}
        self._keys_dir = keys_dir

    def _keys_for(self, client: ClientConfig) -> KeySet:
        keys = self._client_keys.get(client.client_id)
        if keys is None:
            try:
                keys = client_keyset(self._keys_dir, client)
            except (KeyMaterialError, ValueError, JoseError) as exc:
                raise InvalidClient(detail="No usable public key is registered for this client.") from exc
            self._client_keys[client.client_id] = keys
        return keys

    def registered_certificates(self, client: ClientConfig) -> frozenset[str]:
        found = self._client_certificates.get(client.client_id)
        if found is None:
            try:
                found = registered_thumbprints(self._keys_dir, client)
            except (OSError, ValueError) as exc:
                raise InvalidClient(detail="The client's registered keys cannot be read.") from exc
            self._client_certificates[client.client_id] = found
        return found

    def verify_assertion(self, assertion: str, *, client_id: str | None, now: dt.datetime) -> VerifiedAssertion:
        claimed = _unverified_claims(assertion)
        issuer = claimed.get("iss")
        found = self.registry.by_client(issuer) if isinstance(issuer, str) else None
        if found is None or (client_id is not None and client_id != issuer):
            raise InvalidClient(detail="Unknown client.")
        organisation, client = found
        try:
            token = jwt.decode(assertion, self._keys_for(client), algorithms=CLIENT_ASSERTION_ALGORITHMS)
        except JoseError as exc:
            raise InvalidClient(detail="The client assertion's signature or algorithm is not accepted.") from exc
        claims = token.claims
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": client.client_id},
            sub={"essential": True, "value": client.client_id},
            aud={"essential": True, "values": [self.token_endpoint, self.issuer]},
            exp={"essential": True},
            jti={"essential": True},
        )
        try:
            registry.validate(claims)
        except JoseError as exc:
            raise InvalidClient(detail="The client assertion's claims are not valid (iss, sub, aud, exp, jti).") \
                from exc
        exp = int(claims["exp"])
        if exp - now.timestamp() > self.assertion_max_age + LEEWAY_SECONDS:
            raise InvalidClient(detail="The client assertion lives too long; keep exp within 5 minutes.")
        jti = str(claims["jti"])
        if not 8 <= len(jti) <= 200:
            raise InvalidClient(detail="The client assertion's jti must be 8 to 200 characters.")
        return VerifiedAssertion(organisation, client, jti, dt.datetime.fromtimestamp(exp, dt.UTC))

    def grant_scopes(self, client: ClientConfig, requested: str | None) -> list[str]:
        allowed = list(client.scopes)
        if not requested:
            return allowed
        wanted = requested.split()
        if not set(wanted) <= set(allowed):
            raise InvalidGrant(detail="The requested scope is not granted to this client.",
                               extra={"error": "invalid_scope"})
        return wanted

    def issue(self, organisation: Organisation, client: ClientConfig, scopes: list[str],
              now: dt.datetime, *, certificate_thumbprint: str | None = None) -> str:
        iat = int(now.timestamp())
        claims = {
            "iss": self.issuer,
            "sub": client.client_id,
            "aud": self.audience,
            "client_id": client.client_id,
            "iat": iat,
            "nbf": iat,
            "exp": iat + self.ttl,
            "jti": secrets.token_urlsafe(16),
            "scope": " ".join(scopes),
            "organisation_id": organisation.id,
            "oin": organisation.oin,
        }
        if certificate_thumbprint is not None:
            claims["cnf"] = {THUMBPRINT_CLAIM: certificate_thumbprint}
        header = {"alg": ACCESS_TOKEN_ALGORITHM, "typ": "at+jwt", "kid": self.signing_key.kid}
        return jwt.encode(header, claims, self.signing_key)

    def verify_access_token(self, token: str) -> Principal:
        try:
            decoded = jwt.decode(token, self.public_keys, algorithms=[ACCESS_TOKEN_ALGORITHM])
        except (JoseError, ValueError) as exc:
            raise InvalidToken(detail="The access token's signature or algorithm is not accepted.") from exc
        if decoded.header.get("typ") != "at+jwt":
            raise InvalidToken(detail="The token is not an access token (typ at+jwt).")
        claims = decoded.claims
        try:
            jwt.JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.audience},
                exp={"essential": True},
                sub={"essential": True},
                jti={"essential": True},
            ).validate(claims)
        except JoseError as exc:
            raise InvalidToken(detail="The access token is expired or not meant for this gateway.") from exc
        found = self.registry.by_client(str(claims["sub"]))
        if found is None or found[0].id != claims.get("organisation_id"):
            raise InvalidToken(detail="The token's client is no longer registered.")
        return Principal(found[0], found[1].client_id, frozenset(str(claims.get("scope", "")).split()),
                         str(claims["jti"]), _bound_thumbprint(claims))


def _bound_thumbprint(claims: dict[str, Any]) -> str | None:
    if "cnf" not in claims:
        return None
    cnf = claims["cnf"]
    value = cnf.get(THUMBPRINT_CLAIM) if isinstance(cnf, dict) else None
    if not isinstance(value, str) or not value:
        # A confirmation we do not understand must not be ignored: the token would lose its binding.
        raise InvalidToken(detail="The access token's confirmation (cnf) is not an x5t#S256 thumbprint.")
    return value
