"""Bulk actions in the console, in Debian's Chromium against a real `mims serve`, with axe-core.

A form teacher opens their P4 class, confirms the start-of-year reset for the number of children
the page names, downloads the slips as one PDF, and a child signs in at the portal with the
password printed on it and must change it; the teacher cannot reach another class's bulk
action by URL or by the API. A school administrator prints a P1 child's login card with pre-set
answers. MIMS_SCREENSHOTS=1 puts the class page's photograph in docs/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.support.browser import Server
from tests.support.console_browser import (
    ADMIN_PASSWORD,
    add,
    person_id,
    ready_admin,
    serious_violations,
)
from tests.support.console_shots import console_shot
from tests.support.pdf import passwords_on_cards, pdf_text

CLEMENTI = "Clementi Primary School"
LAPTOP = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class Classes:
    children: tuple[str, ...]  # the logins of Clementi 4C
    young: str  # the id of a P1 child of Clementi 1A
    young_login: str
    school_admin: str
    form_teacher: str  # of Clementi 4C


@pytest.fixture(scope="module")
def classes(server: Server, browser: Any) -> Iterator[Classes]:
    context = browser.new_context()
    children = tuple(
        add(server, name, "--school", CLEMENTI, "--level", "P4", "--class", "4C")
        for name in ("Lee Kai Wen", "Nur Aisyah")
    )
    add(server, "Goh Xin Yi", "--school", CLEMENTI, "--level", "P4", "--class", "4D")
    young = add(server, "Tan Jia Hui", "--school", CLEMENTI, "--level", "P1", "--class", "1A")
    school_admin = ready_admin(
        server, context.request, "Daniel Koh", CLEMENTI, "--school", CLEMENTI
    )
    form_teacher = ready_admin(
        server, context.request, "Farah Iskandar", CLEMENTI, "--class", f"{CLEMENTI}/4C"
    )
    context.close()
    yield Classes(children, person_id(server, young), young, school_admin, form_teacher)


def signed_in(browser: Any, server: Server, login: str) -> Any:
    page = browser.new_context(
        viewport=LAPTOP, device_scale_factor=1, accept_downloads=True
    ).new_page()
    page.goto(f"{server.url}/admin/")
    page.get_by_label("Login ID").fill(login)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find people")).to_be_visible()
    return page


def checked(page: Any, name: str | None = None) -> None:
    """Check the page with axe-core, and photograph it when it is named."""
    assert serious_violations(page) == []
    if name:
        console_shot(page, name)


def downloaded(page: Any, link: str) -> str:
    with page.expect_download() as download:
        page.get_by_role("link", name=link).click()
    return pdf_text(Path(download.value.path()).read_bytes())


def test_a_form_teacher_resets_their_class_and_prints_the_slips(
    browser: Any, server: Server, classes: Classes
) -> None:
    page = signed_in(browser, server, classes.form_teacher)
    page.goto(f"{server.url}/admin/classes/{CLEMENTI}/4C")
    expect(page.get_by_role("heading", name="Class 4C")).to_be_visible()
    expect(page.locator("table.people tbody tr")).to_have_count(2)
    checked(page, "11-class-bulk")
    page.get_by_role("link", name="Start-of-year reset (2)").click()
    expect(page.get_by_role("heading", name="Start-of-year reset for class 4C?")).to_be_visible()
    expect(page.locator(".intro")).to_contain_text("This touches 2 people in class 4C")
    checked(page, "12-confirm-bulk")
    page.get_by_role("button", name="Yes, do it for all 2").click()
    expect(page.get_by_role("status")).to_have_text("Done for all 2 in class 4C.")
    checked(page)
    text = downloaded(page, "Download the PDF (2 children)")
    assert "MIMS password slip" in text
    slips = passwords_on_cards(text)
    assert set(slips) == set(classes.children)

    child = browser.new_context().new_page()
    child.goto(f"{server.url}/sspr/")
    child.get_by_label("Login ID").fill(classes.children[0])
    child.get_by_label("Password", exact=True).fill(slips[classes.children[0]])
    child.get_by_role("button", name="Sign in").click()
    expect(child).to_have_url(f"{server.url}/sspr/password")

    page.goto(f"{server.url}/admin/classes/{CLEMENTI}/4C")
    page.get_by_role("link", name="Nur Aisyah").click()
    expect(page.locator(".history")).to_contain_text(
        f"Start-of-year reset, by {classes.form_teacher}"
    )


def test_a_form_teacher_cannot_reset_another_class(
    browser: Any, server: Server, classes: Classes
) -> None:
    page = signed_in(browser, server, classes.form_teacher)
    query = urlencode({"school": CLEMENTI, "class": "4D"})
    answer = page.goto(f"{server.url}/admin/class-actions/reset?{query}")
    assert answer is not None and answer.status == 404
    assert page.goto(f"{server.url}/admin/classes/{CLEMENTI}/4D").status == 404
    body = {"school": CLEMENTI, "class": "4D", "people": 1}
    refused = page.request.post(f"{server.url}/admin/api/classes/reset", data=body)
    assert refused.status == 404 and refused.json()["error"] == "not_found"


def test_a_school_administrator_prints_a_young_childs_card(
    browser: Any, server: Server, classes: Classes
) -> None:
    page = signed_in(browser, server, classes.school_admin)
    page.goto(f"{server.url}/admin/people/{classes.young}")
    page.get_by_role("link", name="Print the login card").click()
    expect(page.get_by_text("new pre-set challenge answers")).to_be_visible()
    page.get_by_role("button", name="Yes, print the login card").click()
    temporary = page.locator("#temporary-password").inner_text().strip()
    checked(page)
    text = downloaded(page, "Download the login card (PDF)")
    assert "MIMS login card" in text and "Secret answers" in text
    assert passwords_on_cards(text) == {classes.young_login: temporary}
