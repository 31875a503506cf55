"""Certificate-bound access tokens (RFC 8705, section 3): a stolen token is useless without the client's TLS key.

When binding is on, the token endpoint puts the SHA-256 thumbprint of the client's TLS certificate in the token
(`cnf: {"x5t#S256": …}`) and every protected endpoint compares it with the certificate of the connection that
presents the token.

Where the certificate comes from:
- the ASGI TLS extension (`scope["extensions"]["tls"]["client_cert_chain"]`), when the server terminates TLS itself
  and supplies it (uvicorn does not);
- otherwise a request header set by the ingress that terminates mutual TLS (ingress-nginx: `ssl-client-cert`, the
  URL-encoded PEM, with `auth-tls-pass-certificate-to-upstream: "true"`). The header is read only when binding is
  on, and the ingress must remove any copy a client sends, or a client could name any certificate it likes.

Errors carry no certificate content.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cryptography import x509

from gateway.registry.organisations import ClientConfig

THUMBPRINT_CLAIM = "x5t#S256"
_MAX_HEADER_CHARS = 16_384  # a certificate chain in URL-encoded PEM stays well below this


class CertificateError(Exception):
    """The presented client certificate cannot be read (the message never contains the certificate)."""


def thumbprint(der: bytes) -> str:
    """The RFC 8705 `x5t#S256` value: base64url (no padding) of the SHA-256 of the DER certificate."""
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode("ascii")


def same_thumbprint(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("ascii", "replace"), b.encode("ascii", "replace"))


def _der_from_pem(pem: str) -> bytes:
    """The first certificate of a PEM text, as DER, after checking that it parses as an X.509 certificate."""
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    start = pem.find(begin)
    stop = pem.find(end, start + len(begin)) if start >= 0 else -1
    if start < 0 or stop < 0:
        raise CertificateError("no PEM certificate")
    try:
        der = ssl.PEM_cert_to_DER_cert(pem[start:stop + len(end)])
        x509.load_der_x509_certificate(der)
    except (ValueError, binascii.Error) as exc:
        raise CertificateError("the certificate does not parse") from exc
    return der


def _from_tls_extension(scope: Mapping[str, Any]) -> bytes | None:
    tls = (scope.get("extensions") or {}).get("tls")
    if not isinstance(tls, Mapping):
        return None
    if tls.get("client_cert_error"):
        raise CertificateError("the server could not verify the client certificate")
    chain = tls.get("client_cert_chain") or []
    if not chain:
        return None
    if not isinstance(chain[0], str):
        raise CertificateError("the server supplied a client certificate in an unknown form")
    return _der_from_pem(chain[0])


@dataclass(frozen=True)
class CertificateBinding:
    """How the gateway finds the client certificate, and whether it must also be registered for the client."""

    header: str = "ssl-client-cert"
    require_registered: bool = False

    def presented(self, scope: Mapping[str, Any], headers: Mapping[str, str]) -> str | None:
        """The thumbprint of the connection's client certificate; None when none was presented.

        Raises CertificateError for a certificate that is there but unreadable, so a malformed header is a clean
        refusal and never taken as "no certificate" by mistake.
        """
        der = _from_tls_extension(scope)
        if der is None:
            raw = headers.get(self.header)
            if raw is None or not raw.strip():
                return None
            if len(raw) > _MAX_HEADER_CHARS:
                raise CertificateError("the client certificate header is too long")
            der = _der_from_pem(unquote(raw.strip()))
        return thumbprint(der)


def registered_thumbprints(keys_dir: Path, client: ClientConfig) -> frozenset[str]:
    """Certificates registered for a client in its JWK set (RFC 7517): `x5t#S256` members, and the first
    certificate of each `x5c` chain (base64 DER), as in RFC 8705's self-signed certificate method."""
    raw: dict[str, Any] | None = client.jwks
    if raw is None and client.jwks_file:
        path = keys_dir / client.jwks_file
        raw = json.loads(path.read_text()) if path.exists() else None
    found: set[str] = set()
    for key in (raw or {}).get("keys", []):
        if not isinstance(key, dict):
            continue
        if isinstance(key.get(THUMBPRINT_CLAIM), str):
            found.add(key[THUMBPRINT_CLAIM])
        chain = key.get("x5c")
        if isinstance(chain, list) and chain and isinstance(chain[0], str):
            try:
                found.add(thumbprint(base64.b64decode(chain[0], validate=True)))
            except binascii.Error:
                continue
    return frozenset(found)
