"""The token endpoint and bearer validation, through the real HTTP surface."""

from __future__ import annotations

import time

import httpx
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey

from gateway.auth.client import client_assertion, token_form
from gateway.core.settings import Settings
from tests.support import GI, RESEARCH, VT, WIJKTEAM, assertion_for, melding_request, token_for


async def test_client_credentials_with_private_key_jwt_issues_an_rfc9068_token(
        client: httpx.AsyncClient, settings: Settings) -> None:
    response = await client.post("/oauth/token", data=token_form(assertion_for(settings, WIJKTEAM)))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == settings.access_token_ttl_seconds
    jwks = (await client.get("/.well-known/jwks.json")).json()
    decoded = jwt.decode(body["access_token"], RSAKey.import_key(jwks["keys"][0]), algorithms=["RS256"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.claims["sub"] == WIJKTEAM
    assert decoded.claims["organisation_id"] == "wijkteam-utrecht-west"
    assert decoded.claims["aud"] == f"{settings.public_url}/v1"
    assert set(decoded.claims["scope"].split()) == {"exchange:push", "exchange:pull", "exchange:read",
                                                    "exchange:reidentify", "inbox:receive"}


async def test_a_client_assertion_cannot_be_replayed(client: httpx.AsyncClient, settings: Settings) -> None:
    assertion = assertion_for(settings, WIJKTEAM)
    assert (await client.post("/oauth/token", data=token_form(assertion))).status_code == 200
    replay = await client.post("/oauth/token", data=token_form(assertion))
    assert replay.status_code == 400
    assert replay.headers["content-type"] == "application/problem+json"
    assert replay.json()["code"] == "invalid-grant"


async def test_assertion_signed_by_another_clients_key_is_refused(client: httpx.AsyncClient,
                                                                  settings: Settings) -> None:
    pem = (settings.keys_dir / "clients" / f"{VT}.pem").read_bytes()
    forged = client_assertion(private_key_pem=pem, client_id=WIJKTEAM, audience=f"{settings.public_url}/oauth/token")
    response = await client.post("/oauth/token", data=token_form(forged))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid-client"


async def test_assertion_checks_audience_expiry_and_lifetime(client: httpx.AsyncClient, settings: Settings) -> None:
    pem = (settings.keys_dir / "clients" / f"{WIJKTEAM}.pem").read_bytes()
    wrong_audience = client_assertion(private_key_pem=pem, client_id=WIJKTEAM, audience="https://elsewhere/token")
    too_long = client_assertion(private_key_pem=pem, client_id=WIJKTEAM,
                                audience=f"{settings.public_url}/oauth/token", lifetime=3600)
    expired = client_assertion(private_key_pem=pem, client_id=WIJKTEAM,
                               audience=f"{settings.public_url}/oauth/token", lifetime=-120)
    for assertion in (wrong_audience, too_long, expired):
        response = await client.post("/oauth/token", data=token_form(assertion))
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "invalid-client"


async def test_none_and_hmac_algorithms_are_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    now = int(time.time())
    claims = {"iss": WIJKTEAM, "sub": WIJKTEAM, "aud": f"{settings.public_url}/oauth/token", "iat": now,
              "exp": now + 60, "jti": "abcdefgh-none-1"}
    # HMAC "signed" with the client's public key material: the classic confusion attack.
    public = (settings.keys_dir / "clients" / f"{WIJKTEAM}.jwks.json").read_bytes()
    hmac_token = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(public), algorithms=["HS256"])
    header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
    none_token = header + "." + hmac_token.split(".")[1] + "."
    for assertion in (hmac_token, none_token):
        response = await client.post("/oauth/token", data=token_form(assertion))
        assert response.status_code == 401
        assert response.json()["code"] == "invalid-client"


async def test_token_request_shape_errors(client: httpx.AsyncClient, settings: Settings) -> None:
    wrong_grant = token_form(assertion_for(settings, WIJKTEAM)) | {"grant_type": "password"}
    assert (await client.post("/oauth/token", data=wrong_grant)).json()["code"] == "unsupported-grant-type"
    as_json = await client.post("/oauth/token", json=token_form(assertion_for(settings, WIJKTEAM)))
    assert as_json.status_code == 415
    garbage = token_form("not-a-jwt")
    assert (await client.post("/oauth/token", data=garbage)).status_code == 401
    too_much_scope = token_form(assertion_for(settings, RESEARCH), scope="exchange:push")
    response = await client.post("/oauth/token", data=too_much_scope)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_api_calls_need_a_valid_token_of_this_gateway(client: httpx.AsyncClient, settings: Settings) -> None:
    body = melding_request()
    missing = await client.post("/v1/exchanges/push", json=body)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    foreign_key = RSAKey.generate_key(2048)
    now = int(time.time())
    foreign = jwt.encode({"alg": "RS256", "typ": "at+jwt"},
                         {"iss": settings.public_url, "sub": WIJKTEAM, "aud": f"{settings.public_url}/v1",
                          "exp": now + 60, "jti": "x" * 10, "scope": "exchange:push",
                          "organisation_id": "wijkteam-utrecht-west"}, foreign_key)
    forged = await client.post("/v1/exchanges/push", json=body, headers={"Authorization": f"Bearer {foreign}"})
    assert forged.status_code == 401
    assert forged.json()["code"] == "invalid-token"


async def test_expired_access_token_is_refused(client: httpx.AsyncClient, settings: Settings, app: object) -> None:
    tokens = app.state.tokens  # type: ignore[attr-defined]
    org, cfg = tokens.registry.by_client(WIJKTEAM)
    import datetime as dt

    old = tokens.issue(org, cfg, ["exchange:push"], dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    response = await client.post("/v1/exchanges/push", json=melding_request(),
                                 headers={"Authorization": f"Bearer {old}"})
    assert response.status_code == 401
    assert response.json()["code"] == "invalid-token"


async def test_scope_is_enforced(client: httpx.AsyncClient, settings: Settings) -> None:
    token = await token_for(client, settings, GI, scope="exchange:read")
    response = await client.post("/v1/exchanges/push", json=melding_request(recipient="vt-utrecht"),
                                 headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient-scope"


async def test_discovery_metadata(client: httpx.AsyncClient, settings: Settings) -> None:
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["token_endpoint"] == f"{settings.public_url}/oauth/token"
    assert meta["token_endpoint_auth_methods_supported"] == ["private_key_jwt"]
    assert "HS256" not in meta["token_endpoint_auth_signing_alg_values_supported"]
