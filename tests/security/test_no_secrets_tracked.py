"""No secrets or keys in git: every file `git ls-files` lists is checked, as it is in the working tree.

Two layers:
- detect-secrets (Yelp's scanner) with its default plugins and filters: private-key PEM blocks, high-entropy
  base64 and hex strings, JWTs, credentials in URLs, and the token formats of well-known services. Its
  KeywordDetector is left out: it flags every variable *named* like a secret (`SECRET_FILE = "partners/…"`, a
  Helm `existingSecret:` key), which is noise here, not key material. A deliberate placeholder is marked on its
  line with detect-secrets' own `pragma: allowlist secret` comment.
- our own rules for what detect-secrets cannot know: nothing under `keys/` but its README and .gitignore, and no
  file with a key's name (the dev key files the gateway generates, or any *.pem, *.key, *.p12 …) anywhere.

The same function runs on a throwaway repository with planted secrets, so the check is shown to fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from pathlib import Path, PurePosixPath

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from detect_secrets import SecretsCollection
from detect_secrets.core.potential_secret import PotentialSecret
from detect_secrets.settings import default_settings

from gateway.auth.keys import SIGNING_KEY_FILE
from gateway.core.settings import REPO_ROOT
from gateway.pseudonymise.keyring import KEYRING_FILE
from gateway.pseudonymise.signing import LOG_SIGNING_KEY_FILE

hash_secret = PotentialSecret.hash_secret
KEYS_DIR_ALLOWED = {"keys/README.md", "keys/.gitignore"}
KEY_FILE_NAMES = {SIGNING_KEY_FILE, KEYRING_FILE, LOG_SIGNING_KEY_FILE, "policy-signing-key.pem"}
KEY_FILE_SUFFIXES = (".pem", ".key", ".p12", ".pfx", ".jks", ".keystore", ".der", ".zgw-secret")
NOISY_PLUGINS = ("KeywordDetector",)
PLANTED_PASSWORD = hashlib.sha256(b"planted password").hexdigest()[:20]
# Known placeholders in files that cannot carry a pragma comment, by file, kind and detect-secrets' SHA-1 of the
# value, so only that exact value is let through.
ALLOWED = {
    # docs: an example database URL whose password is the placeholder "secret".
    ("docs/operations.md", "Basic Auth Credentials", hash_secret("secret")),
}


def tracked_files(repo: Path) -> list[str]:
    listed = subprocess.run(["git", "-C", str(repo), "ls-files", "-z"], capture_output=True, text=True, check=True)
    return [name for name in listed.stdout.split("\0") if name]


def _rule_findings(files: list[str]) -> list[str]:
    found = []
    for name in files:
        path = PurePosixPath(name)
        if path.parts[0] == "keys" and name not in KEYS_DIR_ALLOWED:
            found.append(f"{name}: only README.md and .gitignore may be tracked under keys/")
        if path.name in KEY_FILE_NAMES or path.name.endswith(KEY_FILE_SUFFIXES):
            found.append(f"{name}: a key file by its name")
    return found


def find_secrets(repo: Path) -> list[str]:
    """Findings as 'file[:line]: what' (never the secret itself)."""
    files = tracked_files(repo)
    present = [name for name in files if (repo / name).is_file()]  # a tracked file deleted in the work tree
    collection = SecretsCollection(root=str(repo))
    with default_settings() as settings:
        settings.disable_plugins(*NOISY_PLUGINS)
        for name in present:
            collection.scan_file(name)
    scanned = [f"{name}:{secret.line_number}: {secret.type}"
               for name, found in collection.data.items() for secret in found
               if (name, secret.type, secret.secret_hash) not in ALLOWED]
    return sorted(_rule_findings(files) + scanned)


def test_no_secrets_or_keys_are_tracked() -> None:
    findings = find_secrets(REPO_ROOT)
    assert findings == [], "secrets or keys tracked in git:\n" + "\n".join(findings)


@pytest.fixture
def planted_repo(tmp_path: Path) -> Path:
    """A throwaway git repository with one secret of each kind the check must catch, and harmless look-alikes."""
    repo = tmp_path / "repo"
    (repo / "keys" / "clients").mkdir(parents=True)
    (repo / "config").mkdir()
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    (repo / "keys" / "README.md").write_text("# keys\n")
    (repo / "keys" / ".gitignore").write_text("*\n!README.md\n")
    (repo / "keys" / "clients" / "demo.jwks.json").write_text(json.dumps({"keys": []}))
    (repo / "config" / "settings.py").write_text(f'SIGNING_KEY = """{pem}"""\n')
    # Built at run time, so this file itself holds no secret-shaped literal for the scan of the real repository.
    token = base64.b64encode(hashlib.sha512(b"planted token").digest()[:36]).decode()
    (repo / "config" / "values.yaml").write_text(
        f'token: "{token}"\n' + "database: postgresql://gateway:" + PLANTED_PASSWORD + "@db.internal:5432/gw\n")
    (repo / "config" / SIGNING_KEY_FILE).write_text("placeholder\n")
    (repo / "config" / "harmless.py").write_text('SECRET_FILE = "partners/where-the-secret-lies"\n')
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "--quiet"], check=True)
    subprocess.run([*git, "add", "--force", "."], check=True)
    return repo


def test_the_check_finds_planted_secrets(planted_repo: Path) -> None:
    findings = find_secrets(planted_repo)
    joined = "\n".join(findings)
    assert "config/settings.py:1: Private Key" in joined
    assert "config/values.yaml:1: Base64 High Entropy String" in joined
    assert "config/values.yaml:2: Basic Auth Credentials" in joined
    assert "keys/clients/demo.jwks.json: only README.md and .gitignore may be tracked under keys/" in joined
    assert f"config/{SIGNING_KEY_FILE}: a key file by its name" in joined
    assert not any(f.startswith(("keys/README.md", "keys/.gitignore", "config/harmless.py")) for f in findings)
    assert "BEGIN" not in joined and PLANTED_PASSWORD not in joined  # findings never repeat the secret
