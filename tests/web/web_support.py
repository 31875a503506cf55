"""Helpers for web tests in process: create an account, log in through the form, read the CSRF token."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from gateway.core.database import write_session
from gateway.web.accounts import create_user

PASSWORD = "correct horse battery staple"


def add_user(app: FastAPI, username: str, roles: list[str], *, password: str = PASSWORD,
             organisation_id: str | None = None) -> None:
    with write_session(app.state.db) as session:  # beside the app's own writers, as `gateway users` is
        create_user(session, username=username, display_name=username.title(), roles=roles, password=password,
                    organisation_id=organisation_id)
        session.commit()


def login_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field in the page"
    return match.group(1)


async def login(client: httpx.AsyncClient, username: str, password: str = PASSWORD,
                next_path: str = "/ui/") -> httpx.Response:
    page = await client.get(f"/ui/login?next={next_path}")
    return await client.post("/ui/login", data={"username": username, "password": password,
                                                "csrf_token": login_csrf(page.text), "next": next_path})


async def page_csrf(client: httpx.AsyncClient, path: str = "/ui/") -> str:
    """The session's CSRF token, as the page's forms carry it."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return login_csrf(page.text)
