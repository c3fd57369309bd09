"""A parent's reset request in Debian's Chromium, against a real `mims serve`.

The parent finds the form from the portal's sign-in page and sends it on a phone; the school
administrator finds it in the queue with its match, resets the child's password with a
confirmation and gets the slip; the request shows who settled it, and the audit trail (the
child's page and `mims audit`) shows the request, the match and the resolution. Each page is
checked by axe-core.
"""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from tests.support.browser import Server
from tests.support.console_browser import ADMIN_PASSWORD, add, ready_admin, serious_violations
from tests.support.console_shots import console_shot

CLEMENTI = "Clementi Primary School"
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1280, "height": 800}


def new_page(browser: Any, viewport: dict[str, int]) -> Any:
    return browser.new_context(viewport=viewport, device_scale_factor=1).new_page()


def checked(page: Any, name: str) -> None:
    assert serious_violations(page) == []
    console_shot(page, name)


def test_a_parents_request_reaches_the_queue_is_matched_resolved_and_audited(
    browser: Any, server: Server
) -> None:
    context = browser.new_context()
    child = add(
        server, "Nur Aisyah Binte Ahmad", "--school", CLEMENTI, "--level", "P3", "--class", "3C"
    )
    office = ready_admin(server, context.request, "Farah Yusof", CLEMENTI, "--school", CLEMENTI)
    context.close()

    parent = new_page(browser, PHONE)
    parent.goto(f"{server.url}/sspr/")
    parent.get_by_role(
        "link", name="A parent? Ask the school for your child's new password"
    ).click()
    expect(parent.get_by_role("heading", name="Ask the school for a new password")).to_be_visible()
    parent.get_by_label("Your child's full name").fill("nur aisyah binte ahmad")
    parent.get_by_label("School").fill("Clementi Primary School")
    parent.get_by_label("Class").fill("3 C")
    parent.get_by_label("Your phone number or e-mail address").fill("+65 9123 4567")
    checked(parent, "20-parent-request")
    parent.get_by_role("button", name="Send to the school").click()
    expect(parent.get_by_role("status")).to_have_text(
        "If the details match a child of the school, the school will contact you."
    )
    expect(parent.locator("main")).not_to_contain_text(child)
    checked(parent, "21-parent-request-sent")

    page = new_page(browser, LAPTOP)
    page.goto(f"{server.url}/admin/")
    page.get_by_label("Login ID").fill(office)
    page.get_by_label("Password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Parents' requests").click()
    expect(page.get_by_role("heading", name="Parents' requests")).to_be_visible()
    rows = page.locator("table.people tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("nur aisyah binte ahmad")
    checked(page, "22-request-queue")

    page.get_by_role("link", name="nur aisyah binte ahmad").click()
    expect(page.locator(".facts")).to_contain_text("+65 9123 4567")
    matches = page.locator("table.people tbody tr")
    expect(matches).to_have_count(1)
    expect(matches.first).to_contain_text(child)
    expect(matches.first).to_contain_text("Name and class")
    checked(page, "23-request-matched")

    page.get_by_role("link", name="Reset Nur Aisyah Binte Ahmad's password").click()
    expect(page.get_by_role("heading", name="Reset the password?")).to_be_visible()
    expect(page.get_by_text("which you will see once")).to_be_visible()
    checked(page, "24-request-confirm-reset")
    page.get_by_role("button", name="Yes, reset the password").click()
    temporary = page.locator("#temporary-password").inner_text().strip()
    assert len(temporary) >= 8
    expect(page.locator(".slip")).to_contain_text(child)

    page.get_by_role("link", name="Parents' requests").click()
    expect(page.get_by_text("No request is waiting.")).to_be_visible()
    page.get_by_role("link", name="Find people").click()
    page.get_by_label("Name or login ID").fill("aisyah")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Nur Aisyah Binte Ahmad").click()
    history = page.locator(".history")
    expect(history).to_contain_text(f"Matched to a parent's reset request, by {office}")
    expect(history).to_contain_text(
        f"Parent's reset request resolved with a new password, by {office}"
    )
    expect(history).to_contain_text(f"Password reset to a temporary one, by {office}")

    trail = server.mims("audit", "--json")
    events = [json.loads(line) for line in trail.splitlines() if line.strip()]
    about = [e for e in events if e["operation"].startswith("request.")]
    assert [e["operation"] for e in about] == ["request.create", "request.match", "request.reset"]
    assert about[0]["actor"] == "parent"
    assert about[1]["login"] == about[2]["login"] == child
    assert about[2]["actor"] == office
    assert "+65 9123 4567" not in trail
