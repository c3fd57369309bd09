"""Every portal flow in Debian's Chromium against a real `mims serve`, with screenshots."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.support.browser import Server, shot

NEW = "Purple9Rocket31"
NEWER = "Orange8Comet55"
ANSWERS = ["Lim", "Blue", "Paris"]


def sign_in(page: Any, server: Server, login: str, password: str) -> None:
    page.goto(f"{server.url}/sspr/")
    page.get_by_label("Login ID").fill(login)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()


def first_login(page: Any, server: Server, login: str, temporary: str, shots: bool = False) -> None:
    sign_in(page, server, login, temporary)
    assert page.url.endswith("/sspr/password")
    page.get_by_label("The password your teacher gave you").fill(temporary)
    page.get_by_label("New password", exact=True).type("Purple9")
    if shots:
        shot(page, "02-first-login-checklist")
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("Type the new password again").fill(NEW)
    page.get_by_role("button", name="Save my new password").click()
    assert "/sspr/answers" in page.url
    if shots:
        shot(page, "03-set-answers")
    for box, answer in zip(page.locator("input[name^=answer_]").all(), ANSWERS, strict=True):
        box.fill(answer)
    page.get_by_label("Your password (to show it is really you)").fill(NEW)
    page.get_by_role("button", name="Save answers").click()
    assert "/sspr/home" in page.url


def test_first_login_then_home(page: Any, server: Server) -> None:
    login, temporary = server.add_student("E1", "Nur Aisyah")
    page.goto(f"{server.url}/sspr/")
    shot(page, "01-sign-in")
    first_login(page, server, login, temporary, shots=True)
    expect(page.get_by_role("heading", name="You're all set, Nur Aisyah!")).to_be_visible()
    shot(page, "04-all-set")


def test_checklist_ticks_as_you_type(page: Any, server: Server) -> None:
    login, temporary = server.add_student("E2", "Wei Ling Goh")
    sign_in(page, server, login, temporary)
    box = page.get_by_label("New password", exact=True)
    rules = page.locator("#rules li")
    kinds = rules.evaluate_all("items => items.map(i => i.dataset.kind)")
    assert kinds[:4] == ["length", "digits", "lower", "upper"]

    def met() -> list[str]:
        return rules.evaluate_all(
            "items => items.filter(i => i.classList.contains('met')).map(i => i.dataset.kind)"
        )

    assert met() == []
    box.type("a")
    assert met() == ["lower"]
    box.type("B3")
    assert met() == ["digits", "lower", "upper"]
    box.type("cdefghijk")
    assert met() == ["length", "digits", "lower", "upper"]
    # Rules only the portal can check say so when the form is sent: name, history...
    page.get_by_label("The password your teacher gave you").fill(temporary)
    box.fill("Goh12345678x")
    page.get_by_label("Type the new password again").fill("Goh12345678x")
    page.get_by_role("button", name="Save my new password").click()
    expect(page.get_by_role("alert").get_by_text("Don't use your name in it.")).to_be_visible()
    shot(page, "05-password-rules-refused")


def test_forgot_password_success(page: Any, server: Server) -> None:
    login, temporary = server.add_student("E3", "Arjun Kumar")
    first_login(page, server, login, temporary)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Login ID").fill(login)
    shot(page, "06-forgot")
    page.get_by_role("button", name="Next").click()
    page.get_by_label("What is your mother's maiden name?").fill("  LIM ")
    page.get_by_label("What is your favourite colour?").fill("blue")
    page.get_by_label("What is your favourite city?").fill("paris")
    shot(page, "07-questions")
    page.get_by_role("button", name="Check my answers").click()
    expect(page.get_by_role("heading", name="Well done! Now make a new password")).to_be_visible()
    page.get_by_label("New password", exact=True).fill(NEWER)
    page.get_by_label("Type the new password again").fill(NEWER)
    shot(page, "08-new-password")
    page.get_by_role("button", name="Save my new password").click()
    expect(page.get_by_role("heading", name="Your new password is saved!")).to_be_visible()
    shot(page, "09-reset-done")
    sign_in(page, server, login, NEWER)
    assert "/sspr/home" in page.url


def refused_words(page: Any, server: Server, login: str, answers: list[str]) -> str:
    page.goto(f"{server.url}/sspr/forgot")
    page.get_by_label("Login ID").fill(login)
    page.get_by_role("button", name="Next").click()
    for box, answer in zip(page.locator("input[name^=answer_]").all(), answers, strict=True):
        box.fill(answer)
    page.get_by_role("button", name="Check my answers").click()
    return str(page.get_by_role("alert").inner_text())


def test_forgot_password_failures_all_read_the_same(page: Any, server: Server) -> None:
    login, temporary = server.add_student("E4", "Siti Rahmah")
    first_login(page, server, login, temporary)
    never, _ = server.add_student("E5", "Daniel Lee")  # has not set answers
    wrong = refused_words(page, server, login, ["Lim", "Red", "Paris"])
    shot(page, "10-answers-refused")
    assert "did not match" in wrong
    assert refused_words(page, server, "nobody@students.edu.sg", ANSWERS) == wrong
    assert refused_words(page, server, never, ANSWERS) == wrong
    for _ in range(4):  # five wrong tries close self-service reset for this account
        refused_words(page, server, login, ["x", "y", "z"])
    assert refused_words(page, server, login, ANSWERS) == wrong


def test_lockout_message(page: Any, server: Server) -> None:
    login, temporary = server.add_student("E6", "Chen Jia Hui")
    for _ in range(5):
        sign_in(page, server, login, "Wrong7Password42")
        expect(page.get_by_role("alert")).to_be_visible()
    wrong = page.get_by_role("alert").inner_text()
    sign_in(page, server, login, temporary)
    alert = page.get_by_role("alert")
    # The right password on a locked account reads as a wrong one (no enumeration).
    assert alert.inner_text() == wrong
    assert "temporarily locked: try again later or ask your form teacher" in wrong
    shot(page, "11-locked")


def test_change_password_and_answers_when_signed_in(page: Any, server: Server) -> None:
    login, temporary = server.add_student("E7", "Tan Mei Mei")
    first_login(page, server, login, temporary)
    page.get_by_role("link", name="Change my password").click()
    page.get_by_label("Your password now").fill(NEW)
    page.get_by_label("New password", exact=True).fill(NEWER)
    shot(page, "12-change-password")
    page.get_by_label("Type the new password again").fill(NEWER)
    page.get_by_role("button", name="Save my new password").click()
    expect(page.get_by_text("Your new password is saved.")).to_be_visible()
    page.get_by_role("link", name="Change my secret answers").click()
    for box, answer in zip(
        page.locator("input[name^=answer_]").all(), ["Ng", "Green", "Oslo"], strict=True
    ):
        box.fill(answer)
    page.get_by_label("Your password (to show it is really you)").fill(NEWER)
    page.get_by_role("button", name="Save answers").click()
    expect(page.get_by_text("Your answers are saved.")).to_be_visible()


def test_keyboard_only_first_login(page: Any, server: Server) -> None:
    login, temporary = server.add_student("E8", "Ravi Shankar")
    page.goto(f"{server.url}/sspr/")

    def focused() -> str:
        return str(page.evaluate("document.activeElement.id || document.activeElement.textContent"))

    assert focused() == "login_id"  # the first box has the focus already
    page.keyboard.type(login)
    page.keyboard.press("Tab")
    assert focused() == "password"
    page.keyboard.type(temporary)
    page.keyboard.press("Enter")
    page.wait_for_url("**/sspr/password")
    # The page moves the focus once it has drawn the form: wait for it, as a person would.
    expect(page.locator("#current_password")).to_be_focused()
    page.keyboard.type(temporary)
    order = []
    for _ in range(4):
        page.keyboard.press("Tab")
        order.append(focused())
    assert order == ["new_password", "new_password_again", "show_passwords", "Save my new password"]
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.type(NEW)
    page.keyboard.press("Tab")
    page.keyboard.type(NEW)
    page.keyboard.press("Enter")
    page.wait_for_url("**/sspr/answers**")
    assert focused() == "answer_mother_maiden_name"
    for answer in ANSWERS:
        page.keyboard.type(answer)
        page.keyboard.press("Tab")
    assert focused() == "recovery_email"
    page.keyboard.press("Tab")
    assert focused() == "current_password"
    page.keyboard.type(NEW)
    page.keyboard.press("Enter")
    page.wait_for_url("**/sspr/home**")
    # The focus ring is visible on a keyboard-focused button (never removed).
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
