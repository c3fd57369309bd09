"""The console's browser tests: people made with `mims`, administrators ready to sign in, axe."""

from __future__ import annotations

import json
from typing import Any

from tests.support.browser import Server

ADMIN_PASSWORD = "Orange8Comet55"
SERIOUS = {"serious", "critical"}


def add(server: Server, name: str, *args: str) -> str:
    """Add a person with `mims user add`; return their login ID."""
    return server.mims("user", "add", name, *args).strip().split()[-1]


def person_id(server: Server, login: str) -> str:
    """Return a person's id, as `mims user show --json` prints it."""
    return str(json.loads(server.mims("user", "show", login, "--json"))["id"])


def ready_admin(server: Server, request: Any, name: str, school: str, *grant: str) -> str:
    """Add a member of staff, grant them, and give them a password of their own (at the portal)."""
    login = add(server, name, "--role", "staff", "--school", school)
    server.mims("admin", "grant", login, *grant)
    temporary = server.mims("user", "reset-password", login).strip().rsplit(": ", 1)[1]
    signed = request.post(
        f"{server.url}/sspr/api/login", data={"loginId": login, "password": temporary}
    )
    assert signed.ok, signed.text()
    changed = request.post(
        f"{server.url}/sspr/api/password",
        data={"currentPassword": temporary, "newPassword": ADMIN_PASSWORD},
    )
    assert changed.ok, changed.text()
    return login


def lock(server: Server, request: Any, login: str) -> None:
    """Lock an account as a child does: wrong passwords at the portal until it locks."""
    for _ in range(6):
        request.post(
            f"{server.url}/sspr/api/login", data={"loginId": login, "password": "Wrong-pass-1"}
        )
    shown = dict(line.split(None, 1) for line in server.mims("user", "show", login).splitlines())
    assert shown["locked"].startswith("yes"), shown


def serious_violations(page: Any) -> list[str]:
    """Return axe-core's serious and critical violations on the page (axe.min.js from PyPI)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in SERIOUS
    ]
