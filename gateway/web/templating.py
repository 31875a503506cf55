"""Server-rendered pages (Jinja2, autoescaped). Every page extends base.html; forms carry the CSRF token.

Other packages add their own template folders with `add_template_dir` and render with `render`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

from gateway.core.errors import GatewayError

TEMPLATES = Path(__file__).parent / "templates"
_loaders: list[FileSystemLoader] = [FileSystemLoader(TEMPLATES)]
_env = Environment(loader=ChoiceLoader(_loaders), autoescape=select_autoescape(default=True, default_for_string=True),
                   trim_blocks=True, lstrip_blocks=True)


def add_template_dir(path: Path) -> None:
    """Let another package's templates (e.g. gateway/policy_admin/templates) be found by name."""
    if all(Path(str(loader.searchpath[0])) != path for loader in _loaders):
        _loaders.append(FileSystemLoader(path))


def _datetime(value: dt.datetime | str | None, fmt: str = "%d-%m-%Y %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).strftime(fmt) + " UTC"


_env.filters["datetime"] = _datetime
_env.filters["urlquote"] = lambda value: quote(str(value), safe="")


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    principal = getattr(request.state, "web_principal", None)
    values = {"request": request, "principal": principal,
              "csrf_token": principal.csrf_token if principal is not None else "",
              "path": request.url.path, **(context or {})}
    return HTMLResponse(_env.get_template(template).render(values), status_code=status_code, headers=headers)


def html_error(request: Request, error: GatewayError) -> Response:
    """The page for an error under /ui; a missing session goes to the login page and comes back after."""
    if error.code == "login-required":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        expired = "&expired=1" if error.extra.get("expired") else ""
        return RedirectResponse(f"/ui/login?next={quote(target, safe='')}{expired}", status_code=303)
    return render(request, "error.html", {"error": error}, status_code=error.status)
