"""Outbound auth per partner: API key, OAuth2 client credentials, mutual TLS; secrets never in the registry."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gateway.core.settings import REPO_ROOT
from gateway.registry.organisations import Organisation
from gateway.relay.partner_clients import PartnerConfigError, partner_client
from tests.e2e.processes import free_block

TIMEOUT = httpx.Timeout(5.0)


def _org(endpoint: dict[str, object]) -> Organisation:
    return Organisation.model_validate({"id": "vt-test", "type": "veilig_thuis", "name": "VT", "oin": "0" * 20,
                                        "endpoint": {"adapter": "veilig_thuis", "base_url": "https://vt.test",
                                                     **endpoint}})


async def test_api_key_from_the_environment_goes_in_its_header(monkeypatch: pytest.MonkeyPatch,
                                                               tmp_path: Path) -> None:
    monkeypatch.setenv("VT_API_KEY", "s3cret-key")
    client = partner_client(_org({"api_key": {"header": "X-VT-Key", "secret_env": "VT_API_KEY"}}),
                            keys_dir=tmp_path, timeout=TIMEOUT)
    seen: list[str | None] = []
    client._transport = httpx.MockTransport(lambda r: (seen.append(r.headers.get("X-VT-Key")),
                                                       httpx.Response(200))[1])
    await client.get("https://vt.test/health")
    await client.aclose()
    assert seen == ["s3cret-key"]


async def test_oauth2_client_credentials_token_is_cached_and_refreshed_on_401(tmp_path: Path) -> None:
    (tmp_path / "vt-secret").write_text("client-secret\n")
    client = partner_client(_org({"oauth2": {"token_url": "https://auth.vt.test/token", "client_id": "gateway",
                                             "secret_file": "vt-secret", "scope": "meldingen"}}),
                            keys_dir=tmp_path, timeout=TIMEOUT)
    issued: list[str] = []
    reject_once = {"t1"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "auth.vt.test":
            assert request.headers["authorization"].startswith("Basic ")
            assert b"scope=meldingen" in request.content
            issued.append(f"t{len(issued) + 1}")
            return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 600})
        token = request.headers["authorization"].removeprefix("Bearer ")
        if token in reject_once:
            reject_once.discard(token)
            return httpx.Response(401)
        return httpx.Response(200, json={"token": token})

    client._transport = httpx.MockTransport(handler)
    answers = [(await client.get("https://vt.test/api")).json()["token"] for _ in range(3)]
    await client.aclose()
    assert answers == ["t2", "t2", "t2"]  # t1 was refused once, t2 fetched and then reused
    assert issued == ["t1", "t2"]


def test_missing_secret_or_certificate_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(PartnerConfigError):
        partner_client(_org({"api_key": {"secret_env": "NOT_SET_ANYWHERE"}}), keys_dir=tmp_path, timeout=TIMEOUT)
    with pytest.raises(PartnerConfigError):
        partner_client(_org({"tls": {"cert_file": "nope.pem", "key_file": "nope.key"}}), keys_dir=tmp_path,
                       timeout=TIMEOUT)
    with pytest.raises(ValueError, match="one of api_key and oauth2"):
        _org({"api_key": {"secret_env": "A_KEY"}, "oauth2": {"token_url": "https://t", "client_id": "c",
                                                             "secret_env": "A_SECRET"}})


def _cert(name: str, issuer_key: ec.EllipticCurvePrivateKey | None, issuer: x509.Name | None,
          *, ca: bool = False) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer or subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=1)).not_valid_after(now + dt.timedelta(hours=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
    return key, builder.sign(issuer_key or key, hashes.SHA256())


def _write(path: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
    path.with_suffix(".key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


async def test_mutual_tls_towards_a_partner_that_requires_client_certificates(tmp_path: Path) -> None:
    ca_key, ca = _cert("Test CA", None, None, ca=True)
    _write(tmp_path / "ca", ca_key, ca)
    _write(tmp_path / "server", *_cert("localhost", ca_key, ca.subject))
    _write(tmp_path / "gateway-client", *_cert("kgb-gateway", ca_key, ca.subject))
    port = free_block(1)
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "adapters.veilig_thuis.simulator:create_app",  # noqa: ASYNC220
                               "--factory", "--port", str(port), "--log-level", "warning",
                               "--ssl-keyfile", str(tmp_path / "server.key"),
                               "--ssl-certfile", str(tmp_path / "server.pem"),
                               "--ssl-ca-certs", str(tmp_path / "ca.pem"), "--ssl-cert-reqs", "2"], cwd=REPO_ROOT)
    try:
        org = _org({"base_url": f"https://localhost:{port}",
                    "tls": {"cert_file": "gateway-client.pem", "key_file": "gateway-client.key",
                            "ca_file": "ca.pem"}})
        async with partner_client(org, keys_dir=tmp_path, timeout=TIMEOUT) as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    response = await client.get(f"https://localhost:{port}/health")
                    break
                except httpx.ConnectError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.2)
            assert response.status_code == 200
        trust = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
        async with httpx.AsyncClient(verify=trust, timeout=TIMEOUT) as anonymous:
            with pytest.raises(httpx.HTTPError):  # no client certificate: the partner refuses the handshake
                await anonymous.get(f"https://localhost:{port}/health")
    finally:
        server.kill()
        server.wait(timeout=10)
