"""Dependency audit: no locked runtime dependency has a known vulnerability.

The source is PyPI's JSON API, whose `vulnerabilities` list comes from the Open Source Vulnerabilities database
(the PyPA advisory database among others) — the same data pip-audit's default PyPI service reads. pip-audit
itself asks `/pypi/<name>/<version>/json`; from the CI machines only PyPI and its mirrors are reachable, and there
that per-version document answers 404, which pip-audit reports as "dependency not found" and, without `--strict`,
passes. So the audit is done here directly:

- per pin, the per-version document is asked first (exact, where it is served);
- otherwise the project document, whose `vulnerabilities` are those of the *latest* release: exact for a pin at
  the latest release. For an older pin there is no exact answer: within a grace period after the first newer
  release (`GRACE`, 30 days) the latest release's advisories are held against the pin (conservative); after it the
  pin is reported as not auditable and the test fails (re-lock with `make lock`), rather than passing unaudited.
  The grace period keeps an upstream release published minutes before a CI run from failing that run;
- an unreachable service fails the test (after retries), it never passes silently;
- a canary (a package with a published advisory that has no fix) proves the service still reports advisories.

`requirements.lock` must also match what the tests run with: every runtime dependency of pyproject.toml is pinned,
and every pin is the version installed in this environment.
"""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import os
import re
import time
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gateway.core.settings import REPO_ROOT

LOCK = REPO_ROOT / "requirements.lock"
PYPI = os.environ.get("GATEWAY_AUDIT_PYPI_URL", "https://pypi.org/pypi").rstrip("/")
# python-ecdsa's Minerva timing advisory: the project states it will not be fixed, so every release lists it.
CANARY = ("ecdsa", "CVE-2024-23342")
GRACE = dt.timedelta(days=int(os.environ.get("GATEWAY_AUDIT_GRACE_DAYS", "30")))
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def locked_pins(text: str) -> dict[str, str]:
    return {canonicalize_name(m[1]): m[2] for line in text.splitlines() if (m := _PIN.match(line))}


@dataclass
class AuditReport:
    vulnerable: dict[str, list[str]] = field(default_factory=dict)  # "name==version" -> advisory ids
    unauditable: dict[str, str] = field(default_factory=dict)  # "name==version" -> why


class ServiceUnreachable(Exception):
    """The vulnerability service could not be asked; the audit has no answer."""


def _get(client: httpx.Client, url: str, attempts: int = 3) -> httpx.Response:
    """Retry what is transient (connection errors, 429, 5xx) so a network hiccup does not fail CI."""
    for attempt in range(attempts):
        try:
            response = client.get(url)
        except httpx.TransportError as exc:
            error: str = type(exc).__name__
        else:
            if response.status_code < 500 and response.status_code != 429:
                return response
            error = f"HTTP {response.status_code}"
        if attempt + 1 < attempts:
            time.sleep(0.5 * 2**attempt)
    raise ServiceUnreachable(f"{url}: {error}")


def _advisories(document: dict[str, Any]) -> list[str]:
    return sorted(" / ".join([v["id"], *v.get("aliases", [])]) for v in document.get("vulnerabilities") or []
                  if not v.get("withdrawn"))


def audit_one(client: httpx.Client, name: str, version: str) -> tuple[list[str] | None, str]:
    """The advisories for one pin, or None and why it could not be audited."""
    exact = _get(client, f"{PYPI}/{name}/{version}/json")
    if exact.status_code == 200:
        return _advisories(exact.json()), ""
    if exact.status_code != 404:
        raise ServiceUnreachable(f"{name} {version}: HTTP {exact.status_code}")
    project = _get(client, f"{PYPI}/{name}/json")
    if project.status_code != 200:
        return None, f"not found on the index (HTTP {project.status_code})"
    document = project.json()
    latest = document.get("info", {}).get("version")
    if latest != version:
        behind = _behind_since(document, version)
        if behind is None or dt.datetime.now(dt.UTC) - behind > GRACE:
            return None, (f"the service only reports the latest release ({latest}) and this pin has been behind it "
                          f"for more than {GRACE.days} days; re-lock with `make lock`")
        # Within the grace period the latest release's advisories stand in for the pin's: an advisory that still
        # affects the latest release affects an older pin at least as much (conservative, never lenient).
    return _advisories(document), ""


def _behind_since(document: dict[str, Any], version: str) -> dt.datetime | None:
    """When the first release newer than `version` was uploaded (None: unknown, treated as too long ago)."""
    try:
        pinned = Version(version)
    except InvalidVersion:
        return None
    uploads = []
    for release, files in (document.get("releases") or {}).items():
        try:
            newer = Version(release) > pinned and not Version(release).is_prerelease
        except InvalidVersion:
            continue
        times = [f.get("upload_time_iso_8601") for f in files or [] if not f.get("yanked")]
        if newer and times:
            uploads.append(min(dt.datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times if t))
    return min(uploads) if uploads else None


def audit(pins: dict[str, str], client: httpx.Client) -> AuditReport:
    report = AuditReport()

    def one(item: tuple[str, str]) -> tuple[str, tuple[list[str] | None, str]]:
        return f"{item[0]}=={item[1]}", audit_one(client, *item)

    with ThreadPoolExecutor(max_workers=8) as pool:
        for pin, (advisories, why) in pool.map(one, sorted(pins.items())):
            if advisories is None:
                report.unauditable[pin] = why
            elif advisories:
                report.vulnerable[pin] = advisories
    return report


def _client(transport: httpx.BaseTransport | None = None) -> httpx.Client:
    return httpx.Client(transport=transport, timeout=httpx.Timeout(15.0, connect=5.0), follow_redirects=True,
                        headers={"Accept": "application/json", "User-Agent": "kgb-gateway-dependency-audit"})


def test_lock_pins_every_runtime_dependency_at_the_installed_version() -> None:
    pins = locked_pins(LOCK.read_text())
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    missing = [r for r in project["dependencies"] if canonicalize_name(Requirement(r).name) not in pins]
    assert not missing, f"not in requirements.lock (run `make lock`): {missing}"
    drift = {}
    for name, version in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != version:
            drift[name] = f"locked {version}, installed {installed}"
    assert not drift, f"the tests do not run what is locked (run `make lock` or reinstall): {drift}"


def test_locked_dependencies_have_no_known_vulnerabilities() -> None:
    pins = locked_pins(LOCK.read_text())
    assert len(pins) > 20  # the lock was read, not an empty file
    with _client() as client:
        try:
            report = audit(pins, client)
        except ServiceUnreachable as exc:
            pytest.fail(f"the vulnerability service (PyPI JSON API) is unreachable, so nothing was audited: {exc}")
    assert not report.vulnerable, f"known vulnerabilities in locked dependencies: {report.vulnerable}"
    assert not report.unauditable, f"locked dependencies that could not be audited: {report.unauditable}"


def test_the_vulnerability_service_still_reports_advisories() -> None:
    name, advisory = CANARY
    with _client() as client:
        latest = _get(client, f"{PYPI}/{name}/json").json()["info"]["version"]
        advisories, why = audit_one(client, name, latest)
    assert advisories is not None, why
    assert any(advisory in entry for entry in advisories), (
        f"{name} {latest} no longer lists {advisory}: either the service stopped reporting vulnerabilities "
        "(then the audit above proves nothing) or the advisory was fixed (then pick another canary)")


def _fake_pypi(routes: dict[str, Callable[[], httpx.Response]]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        route = routes.get(request.url.path)
        return route() if route else httpx.Response(404)

    return httpx.MockTransport(handler)


def _project(version: str, vulnerabilities: list[dict[str, Any]],
             releases: dict[str, str] | None = None) -> Callable[[], httpx.Response]:
    files = {v: [{"upload_time_iso_8601": t, "yanked": False}] for v, t in (releases or {}).items()}
    return lambda: httpx.Response(200, json={"info": {"version": version}, "vulnerabilities": vulnerabilities,
                                             "releases": files})


def test_the_audit_can_fail() -> None:
    advisory = {"id": "PYSEC-0000-1", "aliases": ["CVE-0000-0001"], "withdrawn": None}
    withdrawn = {"id": "PYSEC-0000-2", "aliases": [], "withdrawn": "2026-01-01T00:00:00Z"}
    recent = (dt.datetime.now(dt.UTC) - dt.timedelta(days=2)).isoformat().replace("+00:00", "Z")
    transport = _fake_pypi({
        "/pypi/vulnerable/1.0/json": _project("1.0", [advisory, withdrawn]),  # the per-version document
        "/pypi/latest-only/json": _project("2.0", [advisory]),  # only the project document, pin is latest
        # only the project document, the pin is older: long behind (fails), recently behind (latest's advisories)
        "/pypi/behind/json": _project("3.0", [], {"2.9": "2020-01-01T00:00:00Z", "3.0": "2020-02-01T00:00:00Z"}),
        "/pypi/fresh/json": _project("3.0", [advisory], {"3.0": recent}),
        "/pypi/fresh-clean/json": _project("3.0", [], {"3.0": recent}),
        "/pypi/clean/json": _project("1.0", [withdrawn]),
    })
    pins = {"vulnerable": "1.0", "latest-only": "2.0", "behind": "2.9", "clean": "1.0", "unknown": "0.1",
            "fresh": "2.9", "fresh-clean": "2.9"}
    with _client(transport) as client:
        report = audit(pins, client)
    assert report.vulnerable == {"vulnerable==1.0": ["PYSEC-0000-1 / CVE-0000-0001"],
                                 "latest-only==2.0": ["PYSEC-0000-1 / CVE-0000-0001"],
                                 "fresh==2.9": ["PYSEC-0000-1 / CVE-0000-0001"]}
    assert set(report.unauditable) == {"behind==2.9", "unknown==0.1"}

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route", request=request)

    with _client(httpx.MockTransport(down)) as client, pytest.raises(ServiceUnreachable):
        audit({"clean": "1.0"}, client)
