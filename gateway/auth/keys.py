"""Key loading: the gateway's token-signing key and the organisations' client public keys.

In development, missing keys are generated at first start: the gateway's signing key, and for each demo
client a key pair (`keys/clients/<client_id>.pem` private, `.jwks.json` public) so a developer of a partner
system can authenticate as that organisation. Production mounts the files and disables generation.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from joserfc.jwk import KeySet, RSAKey

from gateway.registry.organisations import ClientConfig, OrganisationRegistry

SIGNING_KEY_FILE = "gateway-signing-key.pem"


class KeyMaterialError(Exception):
    """Key material is missing or unreadable (the message names a file kind, never key content)."""


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def load_signing_key(keys_dir: Path, *, generate: bool) -> RSAKey:
    path = keys_dir / SIGNING_KEY_FILE
    if not path.exists():
        if not generate:
            raise KeyMaterialError("gateway signing key not found and key generation is disabled")
        _write_private(path, RSAKey.generate_key(3072).as_pem(private=True))
    key = RSAKey.import_key(path.read_bytes())
    key.ensure_kid()
    return key


def client_key_paths(keys_dir: Path, client_id: str) -> tuple[Path, Path]:
    return keys_dir / "clients" / f"{client_id}.pem", keys_dir / "clients" / f"{client_id}.jwks.json"


def ensure_dev_client_keys(keys_dir: Path, registry: OrganisationRegistry) -> list[str]:
    """Create a key pair for every registered client that names a jwks_file that does not exist yet."""
    created: list[str] = []
    for org in registry.all():
        for client in org.clients:
            if not client.jwks_file or (keys_dir / client.jwks_file).exists():
                continue
            private_path, _ = client_key_paths(keys_dir, client.client_id)
            key = RSAKey.generate_key(2048)
            key.ensure_kid()
            _write_private(private_path, key.as_pem(private=True))
            public = {"keys": [key.as_dict(private=False) | {"use": "sig", "alg": "RS256"}]}
            (keys_dir / client.jwks_file).write_text(json.dumps(public, indent=2))
            created.append(client.client_id)
    ensure_dev_partner_secrets(keys_dir, registry)
    return created


def ensure_dev_partner_secrets(keys_dir: Path, registry: OrganisationRegistry) -> list[str]:
    """Create the shared secret of every partner whose ZGW JWT auth names a secret_file that does not exist yet
    (in development the partner is a simulator that reads the same file)."""
    created: list[str] = []
    for org in registry.all():
        zgw = org.endpoint.zgw_jwt if org.endpoint is not None else None
        if zgw is None or not zgw.secret_file or (keys_dir / zgw.secret_file).exists():
            continue
        try:
            _write_private(keys_dir / zgw.secret_file, secrets.token_urlsafe(48).encode())
        except FileExistsError:  # another process (a second replica) created it first
            continue
        created.append(org.id)
    return created


def client_keyset(keys_dir: Path, client: ClientConfig) -> KeySet:
    raw: dict[str, Any] | None = client.jwks
    if raw is None and client.jwks_file:
        path = keys_dir / client.jwks_file
        if not path.exists():
            raise KeyMaterialError("client public key file not found")
        raw = json.loads(path.read_text())
    if raw is None:
        raise KeyMaterialError("client has no public keys")
    return KeySet.import_key_set(raw)  # type: ignore[arg-type]
