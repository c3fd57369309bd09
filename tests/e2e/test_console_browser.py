"""The admin console in Debian's Chromium against a real `mims serve`: each role, with axe-core.

A school administrator finds a locked student by part of the name and the class, unlocks,
resets, prints the slip; the student signs in at the portal with the temporary password and
must change it. A form teacher sees only their class; a school administrator cannot reach
another school's student by search or by URL. Every main page is checked by axe-core (no
serious or critical violations) and photographed (MIMS_SCREENSHOTS=1 puts them in docs/).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import Server
from tests.support.console_browser import (
    ADMIN_PASSWORD,
    add,
    lock,
    person_id,
    ready_admin,
    serious_violations,
)
from tests.support.console_shots import console_shot

CLEMENTI = "Clementi Primary School"
BUKIT = "Bukit Timah Primary School"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class School:
    locked: str  # Tan Mei Ling's login, Clementi 5A, locked
    elsewhere: str  # Tan Mei Hua's id, Bukit Timah 5A
    school_admin: str
    form_teacher: str


@pytest.fixture(scope="module")
def school(server: Server, browser: Any) -> Iterator[School]:
    context = browser.new_context()
    request = context.request
    student = ("--level", "P5", "--class")
    locked = add(server, "Tan Mei Ling", "--school", CLEMENTI, *student, "5A")
    add(server, "Chloé Lim", "--school", CLEMENTI, *student, "5A")
    add(server, "Ahmad Bin Ali", "--school", CLEMENTI, *student, "5B")
    elsewhere = add(server, "Tan Mei Hua", "--school", BUKIT, *student, "5A")
    for login in (locked,):
        server.mims("user", "reset-password", login)
        # the child chose a password long ago; now types wrong ones until it locks
        lock(server, request, login)
    school_admin = ready_admin(server, request, "Siti Rahman", CLEMENTI, "--school", CLEMENTI)
    form_teacher = ready_admin(
        server, context.request, "Kumar Pillai", CLEMENTI, "--class", f"{CLEMENTI}/5A"
    )
    context.close()
    yield School(locked, person_id(server, elsewhere), school_admin, form_teacher)


def new_page(browser: Any, viewport: dict[str, int] = LAPTOP) -> Any:
    return browser.new_context(viewport=viewport, device_scale_factor=1).new_page()


def sign_in(page: Any, server: Server, login: str) -> None:
    page.goto(f"{server.url}/admin/")
    page.get_by_label("Login ID").fill(login)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Find people")).to_be_visible()


def checked(page: Any, name: str) -> None:
    """Check the page with axe-core, then photograph it."""
    assert serious_violations(page) == []
    console_shot(page, name)


def test_a_school_administrator_unlocks_resets_and_prints_the_slip(
    browser: Any, server: Server, school: School
) -> None:
    page = new_page(browser)
    page.goto(f"{server.url}/admin/")
    checked(page, "01-sign-in")
    sign_in(page, server, school.school_admin)
    page.get_by_label("Name or login ID").fill("mei lin")
    page.get_by_label("Class").fill("5A")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="1 person")).to_be_visible()
    rows = page.locator("table.people tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Locked")
    checked(page, "02-search")
    page.get_by_role("link", name="Tan Mei Ling").click()
    expect(page.get_by_role("heading", name="Tan Mei Ling")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("since")
    checked(page, "03-person-locked")

    page.get_by_role("link", name="Unlock").click()
    expect(page.get_by_role("heading", name="Unlock?")).to_be_visible()
    expect(page.get_by_text("can sign in again with their own password")).to_be_visible()
    checked(page, "04-confirm-unlock")
    page.get_by_role("button", name="Yes, unlock").click()
    expect(page.get_by_role("status")).to_have_text(
        "Unlocked: Tan Mei Ling can sign in again with their own password."
    )
    expect(page.get_by_role("link", name="Unlock")).to_have_count(0)

    page.get_by_role("link", name="Reset the password").click()
    expect(page.get_by_text("which you will see once")).to_be_visible()
    page.get_by_role("button", name="Yes, reset the password").click()
    temporary = page.locator("#temporary-password").inner_text().strip()
    assert len(temporary) >= 8
    slip = page.locator(".slip")
    expect(slip).to_contain_text(school.locked)
    expect(slip).to_contain_text(f"{server.url}/sspr/")
    checked(page, "05-slip")
    page.emulate_media(media="print")
    expect(page.locator(".top")).to_be_hidden()
    expect(page.get_by_role("button", name="Print the slip")).to_be_hidden()
    expect(slip).to_contain_text(temporary)
    console_shot(page, "06-slip-printed")
    page.pdf(path=str(server.data.parent / "slip.pdf"))
    page.emulate_media(media="screen")
    page.get_by_role("link", name="Back to Tan Mei Ling").click()
    facts = page.locator(".facts")
    expect(facts).to_contain_text("Yes, at the next sign-in")
    expect(page.locator(".history")).to_contain_text(
        f"Password reset to a temporary one, by {school.school_admin}"
    )
    checked(page, "07-person-after-reset")

    child = new_page(browser, PHONE)
    child.goto(f"{server.url}/sspr/")
    child.get_by_label("Login ID").fill(school.locked)
    child.get_by_label("Password", exact=True).fill(temporary)
    child.get_by_role("button", name="Sign in").click()
    expect(child).to_have_url(f"{server.url}/sspr/password")
    expect(child.get_by_label("The password your teacher gave you")).to_be_visible()


def test_a_form_teacher_sees_only_their_class(browser: Any, server: Server, school: School) -> None:
    page = new_page(browser, PHONE)
    sign_in(page, server, school.form_teacher)
    page.get_by_label("Level").fill("P5")
    page.get_by_role("button", name="Search").click()
    rows = page.locator("table.people tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table.people")).not_to_contain_text("Ahmad")
    expect(page.locator("table.people")).not_to_contain_text("Tan Mei Hua")
    checked(page, "08-form-teacher-phone")
    page.get_by_role("link", name="5A").first.click()
    expect(page.get_by_role("heading", name="Class 5A")).to_be_visible()
    expect(page.locator("table.people tbody tr")).to_have_count(2)
    checked(page, "09-class")
    page.get_by_role("link", name="Chloé Lim").click()
    actions = page.locator(".actions")
    expect(actions.get_by_role("link", name="Reset the password")).to_be_visible()
    expect(actions.get_by_role("link", name="Disable the account")).to_have_count(0)


def test_a_school_administrator_cannot_reach_another_school(
    browser: Any, server: Server, school: School
) -> None:
    page = new_page(browser)
    sign_in(page, server, school.school_admin)
    page.get_by_label("Name or login ID").fill("Tan Mei Hua")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="0 people")).to_be_visible()
    for path in ("", "/reset", "/disable"):
        answer = page.goto(f"{server.url}/admin/people/{school.elsewhere}{path}")
        assert answer is not None and answer.status == 404
        expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    checked(page, "10-not-found")


def test_keyboard_only_reaches_the_search(browser: Any, server: Server, school: School) -> None:
    page = new_page(browser)
    page.goto(f"{server.url}/admin/")
    expect(page.get_by_label("Login ID")).to_be_focused()  # the page starts at the form
    page.keyboard.type(school.school_admin)
    page.keyboard.press("Tab")
    page.keyboard.type(ADMIN_PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Find people")).to_be_visible()
    expect(page.get_by_label("Name or login ID")).to_be_focused()
    page.keyboard.type("Ahmad")
    page.keyboard.press("Enter")
    expect(page.get_by_role("link", name="Ahmad Bin Ali")).to_be_visible()
