"""Tests for bridge.core.challenges: normalising, hashing and verifying answers, limits."""

from __future__ import annotations

import ast
import random
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.core.challenges import (
    ANIMALS,
    COLOURS,
    DEFAULT_PARAMS,
    FAST_PARAMS,
    FRUITS,
    MAX_ANSWER_LENGTH,
    AttemptLimit,
    HashParams,
    InvalidAnswer,
    SsprAttempts,
    check_answer_set,
    claim_attempt,
    dummy_verify,
    hash_answer,
    needs_rehash,
    normalise,
    parse_stored,
    preset_answer,
    preset_answers,
    sspr_open,
    verify_all,
    verify_phc,
)

CATALOGUE = ("mother_maiden_name", "favourite_colour", "favourite_city")
ANSWERS = {"mother_maiden_name": "Tan", "favourite_colour": "Blue", "favourite_city": "São Paulo"}
SLOPPY = {"mother_maiden_name": " tan", "favourite_colour": "BLUE", "favourite_city": "sao paulo"}
NOW = datetime(2025, 1, 6, 8, 0, tzinfo=UTC)


class CountingVerifier:
    """The real verifier, recording every PHC string it is asked about."""

    def __init__(self) -> None:
        self.phcs: list[str] = []

    def __call__(self, answer: str, phc: str) -> bool:
        self.phcs.append(phc)
        return verify_phc(answer, phc)


@pytest.fixture(scope="module")
def stored() -> list[str]:
    """Return the stored values for ANSWERS, hashed with the fast parameters."""
    return [hash_answer(q, a, FAST_PARAMS) for q, a in ANSWERS.items()]


def phc_params(phc: str) -> tuple[int, int, int]:
    """Return m, t, p from an Argon2id PHC string."""
    match = re.fullmatch(r"\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[^$]+\$[^$]+", phc)
    assert match, phc
    return int(match[1]), int(match[2]), int(match[3])


# --- normalise -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Zoë", "zoe"),
        ("  ZOE  ", "zoe"),
        ("Zoe\u0308", "zoe"),  # decomposed diaeresis
        ("São Paulo", "sao paulo"),
        ("SAO   PAULO", "sao paulo"),
        ("sao\tpaulo", "sao paulo"),
        ("sao\u00a0\u00a0paulo\n", "sao paulo"),
        ("sao\u3000paulo", "sao paulo"),
        ("Ｌｏｎｄｏｎ", "london"),
        ("ＳＴ．　ＬＯＵＩＳ", "st louis"),
        ("Straße", "strasse"),
        ("ẞ", "ss"),
        ("Søren", "soren"),
        ("Łódź", "lodz"),
        ("Æsa", "aesa"),
        ("İstanbul", "istanbul"),
        ("Hà Nội", "ha noi"),
        ("ﬁsh", "fish"),
        ("St. Louis", "st louis"),
        ("St Louis", "st louis"),
        ("st-louis", "st louis"),
        ("St.Louis", "st louis"),
        ("O'Brien", "obrien"),
        ("O’Brien", "obrien"),
        ("OBrien", "obrien"),
        ("red ❤️", "red"),
        ("#1 red!", "1 red"),
        ("Ze\u200bro", "zero"),
        ("soft\u00adhyphen", "softhyphen"),
        ("陈美玲", "陈美玲"),
        ("முருகன்", "முருகன்"),
        ("Москва", "москва"),
    ],
)
def test_normalise_table(typed: str, expected: str) -> None:
    """Fold case, Latin accents, width and spaces; punctuation separates, apostrophes join."""
    assert normalise(typed) == expected


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("tan ah", "tanah"),
        ("O Brien", "OBrien"),
        ("Lee Ann", "LeeAnn"),
        ("red", "reed"),
        ("1 red", "red"),
        ("北京", "背景"),  # both "beijing" if transliterated
        ("கனி", "கன"),  # a Tamil vowel sign is a letter, not an accent
        ("mary", "marie"),
    ],
)
def test_normalise_keeps_different_answers_apart(one: str, other: str) -> None:
    """Never let different real answers meet."""
    assert normalise(one) != normalise(other)


@pytest.mark.parametrize("typed", ["", "   ", "\t\u00a0", "?!", "...", "💙", "\u200b"])
def test_normalise_refuses_answers_with_nothing_left(typed: str) -> None:
    """Refuse an answer without a letter or digit, in words a child understands."""
    with pytest.raises(InvalidAnswer, match="Please type an answer"):
        normalise(typed)


def test_normalise_limits_length() -> None:
    """Accept 100 characters once normalised, refuse 101 and huge raw input."""
    assert normalise("a" * MAX_ANSWER_LENGTH + "   ") == "a" * MAX_ANSWER_LENGTH
    with pytest.raises(InvalidAnswer, match="too long"):
        normalise("a" * (MAX_ANSWER_LENGTH + 1))
    with pytest.raises(InvalidAnswer, match="too long"):
        normalise(" " * 5000 + "a")


def test_invalid_answer_is_a_value_error() -> None:
    """Let callers that catch ValueError catch InvalidAnswer too."""
    assert issubclass(InvalidAnswer, ValueError)


# --- hash_answer, parse_stored --------------------------------------------------


def test_hash_and_verify_round_trip(stored: list[str]) -> None:
    """Store <question id>:<PHC> and verify the answer typed sloppily."""
    question_id, phc = parse_stored(stored[2])
    assert question_id == "favourite_city"
    assert stored[2] == f"favourite_city:{phc}"
    assert verify_phc(normalise("  sao   PAULO "), phc)


def test_wrong_answer_does_not_verify(stored: list[str]) -> None:
    """Refuse a different answer."""
    assert not verify_phc(normalise("Rio"), parse_stored(stored[2])[1])


def test_same_answer_twice_gets_different_salts() -> None:
    """Salt each answer on its own: the same answer hashes differently each time."""
    values = {hash_answer("favourite_colour", "blue", FAST_PARAMS) for _ in range(5)}
    salts = {parse_stored(v)[1].split("$")[4] for v in values}
    assert len(values) == 5
    assert len(salts) == 5
    assert all(len(s) == 22 for s in salts)  # 16 bytes, unpadded base64


def test_phc_names_argon2id_with_the_configured_costs() -> None:
    """Write the algorithm and the configured m, t, p into the PHC string."""
    params = HashParams(memory_kib=64, iterations=3, lanes=2)
    phc = parse_stored(hash_answer("favourite_colour", "blue", params))[1]
    assert phc.startswith("$argon2id$v=19$")
    assert phc_params(phc) == (64, 3, 2)


def test_default_params_are_owasp_and_verify() -> None:
    """Hash with the real defaults (m=19 MiB, t=2, p=1) and verify."""
    assert (DEFAULT_PARAMS.memory_kib, DEFAULT_PARAMS.iterations, DEFAULT_PARAMS.lanes) == (
        19456,
        2,
        1,
    )
    value = hash_answer("favourite_colour", "Blue")
    assert phc_params(parse_stored(value)[1]) == (19456, 2, 1)
    assert len(value) <= 512  # the schema's size limit on mimsChallengeAnswer
    assert value.isascii()  # IA5 String
    assert verify_all([value], {"favourite_colour": "BLUE "}, 1)
    assert not verify_all([value], {"favourite_colour": "red"}, 1)


def test_hash_answer_refuses_a_bad_answer_or_question_id() -> None:
    """Refuse an empty answer and an id that could not be parsed back."""
    with pytest.raises(InvalidAnswer):
        hash_answer("favourite_colour", " ", FAST_PARAMS)
    for bad in ["", "Favourite", "a:b", "1st", "x" * 41, "färg"]:
        with pytest.raises(ValueError, match="question id"):
            hash_answer(bad, "blue", FAST_PARAMS)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "favourite_colour",
        "favourite_colour:",
        ":$argon2id$v=19$m=8,t=1,p=1$L1nroWbR/EWOdVHroGxBIw$qM+HHA6sLRqpFYTgjeUYGYl5f2KLrsgmxTqpXrtN+6U",
        "favourite_colour:$argon2i$v=19$m=8,t=1,p=1$L1nroWbR/EWOdVHroGxBIw$qM+HHA6sLRqpFYTgjeUYGYl5f2",
        "favourite_colour:{SSHA}abcdefgh",
        "favourite_colour:blue",
    ],
)
def test_parse_stored_refuses_malformed_values(value: str) -> None:
    """Refuse a value that is not <question id>:<Argon2id PHC>."""
    with pytest.raises(ValueError, match="not a stored challenge answer"):
        parse_stored(value)


def test_golden_values_still_verify() -> None:
    """Keep answers stored by earlier versions working: normalisation must not drift."""
    golden = [
        "mother_maiden_name:$argon2id$v=19$m=8,t=1,p=1$L1nroWbR/EWOdVHroGxBIw"
        "$qM+HHA6sLRqpFYTgjeUYGYl5f2KLrsgmxTqpXrtN+6U",
        "favourite_colour:$argon2id$v=19$m=8,t=1,p=1$gwkKX3GyzVHVwbprJSCulA"
        "$6x/fAsl6rGmDlAtWyAij3xJmCpRgl56wTpchZVLtt6g",
        "favourite_city:$argon2id$v=19$m=8,t=1,p=1$+CsKyHAZjEoYQGltbIo/kw"
        "$jJAq6GhAcdrTrvRxJ0yh/GORospezk+R9Qo6PxP+GyA",
    ]
    typed = {"mother_maiden_name": "TAN", "favourite_colour": "blue", "favourite_city": "Sao Paulo"}
    assert verify_all(golden, typed, 3, FAST_PARAMS)


def test_needs_rehash() -> None:
    """Tell when a stored value's costs differ from the configured ones."""
    value = hash_answer("favourite_colour", "blue", FAST_PARAMS)
    assert not needs_rehash(value, FAST_PARAMS)
    assert needs_rehash(value, DEFAULT_PARAMS)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"lanes": 0},
        {"iterations": 0},
        {"memory_kib": 15, "lanes": 2},
        {"salt_length": 8},
        {"hash_length": 8},
    ],
)
def test_hash_params_refuse_unusable_costs(kwargs: dict[str, int]) -> None:
    """Refuse costs Argon2id cannot use, or short salts and hashes."""
    with pytest.raises(ValueError):
        HashParams(**kwargs)


# --- verify_all -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (ANSWERS, True),
        (SLOPPY, True),
        ({**ANSWERS, "mother_maiden_name": "Lim"}, False),
        ({**ANSWERS, "favourite_city": "Rio"}, False),
        ({**ANSWERS, "favourite_colour": "   "}, False),
        ({"favourite_colour": "Blue", "favourite_city": "São Paulo"}, False),
        ({**ANSWERS, "pet_name": "Rex"}, False),
        ({}, False),
    ],
)
def test_verify_all_needs_exactly_the_stored_questions_all_right(
    stored: list[str], answers: Mapping[str, str], expected: bool
) -> None:
    """Pass only when every stored question, and no other, is answered right."""
    assert verify_all(stored, answers, 3, FAST_PARAMS) is expected


def test_verify_all_refuses_too_few_or_repeated_or_broken_stored_values(
    stored: list[str],
) -> None:
    """Fail an account with fewer answers than required, a repeated question or a bad value."""
    two = {q: ANSWERS[q] for q in CATALOGUE[:2]}
    assert not verify_all(stored[:2], two, 3, FAST_PARAMS)
    assert verify_all(stored[:2], two, 2, FAST_PARAMS)
    repeated = [stored[0], stored[0], stored[1]]
    assert not verify_all(repeated, two, 3, FAST_PARAMS)
    broken = [stored[0], stored[1], "favourite_city:garbage"]
    assert not verify_all(broken, ANSWERS, 3, FAST_PARAMS)


@pytest.mark.parametrize(
    ("case", "answers", "count"),
    [
        ("all right", ANSWERS, 3),
        ("first wrong", {**ANSWERS, "mother_maiden_name": "Lim"}, 3),
        ("last wrong", {**ANSWERS, "favourite_city": "Rio"}, 3),
        ("all wrong", dict.fromkeys(ANSWERS, "nope"), 3),
        ("first empty", {**ANSWERS, "mother_maiden_name": ""}, 3),
        ("one missing", {q: ANSWERS[q] for q in CATALOGUE[1:]}, 3),
        ("one extra", {**ANSWERS, "pet_name": "Rex"}, 3),
        ("nothing stored", ANSWERS, 0),
        ("one stored", ANSWERS, 1),
    ],
)
def test_verify_all_does_the_same_work_whatever_the_outcome(
    stored: list[str], case: str, answers: Mapping[str, str], count: int
) -> None:
    """Verify every stored answer, and make up the rest with dummies, never stopping early."""
    verifier = CountingVerifier()
    verify_all(stored[:count], answers, 3, FAST_PARAMS, verify=verifier)
    assert len(verifier.phcs) == 3, case
    real = [parse_stored(v)[1] for v in stored[:count]]
    assert verifier.phcs[:count] == real, case


def test_verify_all_verifies_a_broken_stored_value_with_a_dummy(stored: list[str]) -> None:
    """Spend a verification on an unreadable stored value too."""
    verifier = CountingVerifier()
    verify_all(["favourite_city:garbage", *stored[1:]], ANSWERS, 3, FAST_PARAMS, verify=verifier)
    assert len(verifier.phcs) == 3


# --- dummy_verify ---------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 3])
def test_dummy_verify_runs_count_verifications(count: int) -> None:
    """Run exactly count verifications."""
    verifier = CountingVerifier()
    dummy_verify(count, FAST_PARAMS, verify=verifier)
    assert len(verifier.phcs) == count


def test_dummy_hash_is_made_once_with_the_same_params() -> None:
    """Reuse one dummy hash per params, with those params' costs."""
    verifier = CountingVerifier()
    dummy_verify(2, FAST_PARAMS, verify=verifier)
    dummy_verify(1, FAST_PARAMS, verify=verifier)
    assert len(set(verifier.phcs)) == 1
    assert phc_params(verifier.phcs[0]) == (8, 1, 1)
    other = HashParams(memory_kib=16, iterations=1, lanes=1)
    dummy_verify(1, other, verify=verifier)
    assert phc_params(verifier.phcs[-1]) == (16, 1, 1)


# --- attempt limit ----------------------------------------------------------------


FOR_GOOD = AttemptLimit(3, None)
FIFTEEN = AttemptLimit(3, timedelta(minutes=15))


def test_attempts_are_claimed_up_to_the_limit_then_refused() -> None:
    """Count each claim; the last one stamps the lock; a closed SSPR gives no claim."""
    state = SsprAttempts()
    for n in (1, 2):
        claimed = claim_attempt(state, FOR_GOOD, NOW)
        assert claimed == SsprAttempts(n, None)
        state = claimed
    state = claim_attempt(state, FOR_GOOD, NOW) or SsprAttempts()
    assert state == SsprAttempts(3, NOW)
    assert claim_attempt(state, FOR_GOOD, NOW + timedelta(days=365)) is None
    assert not sspr_open(state, AttemptLimit(100, None), NOW)  # a lock holds if the limit rises


def test_a_lock_with_a_time_lifts_itself_and_counting_starts_again() -> None:
    """Closed for the lock's time, then open with a fresh count."""
    locked = SsprAttempts(3, NOW)
    assert claim_attempt(locked, FIFTEEN, NOW + timedelta(minutes=14, seconds=59)) is None
    later = NOW + timedelta(minutes=15)
    assert sspr_open(locked, FIFTEEN, later)
    assert claim_attempt(locked, FIFTEEN, later) == SsprAttempts(1, None)


@pytest.mark.parametrize(
    ("state", "limit", "is_open"),
    [
        (SsprAttempts(0), AttemptLimit(1, None), True),
        (SsprAttempts(4), AttemptLimit(5, None), True),
        (SsprAttempts(5), AttemptLimit(5, None), False),
        (SsprAttempts(6), AttemptLimit(5, timedelta(minutes=1)), False),
        (SsprAttempts(0, NOW), AttemptLimit(5, None), False),
        (SsprAttempts(0, NOW - timedelta(minutes=2)), AttemptLimit(5, timedelta(minutes=1)), True),
    ],
)
def test_sspr_open_table(state: SsprAttempts, limit: AttemptLimit, is_open: bool) -> None:
    """Open with fewer claims than the max and no lock, or a lock whose time is over."""
    assert sspr_open(state, limit, NOW) is is_open


def test_attempts_refuse_bad_values() -> None:
    """Refuse a negative count, times without a time zone, and limits that cannot be."""
    with pytest.raises(ValueError):
        SsprAttempts(-1)
    with pytest.raises(ValueError):
        SsprAttempts(5, datetime(2025, 1, 6))
    with pytest.raises(ValueError):
        claim_attempt(SsprAttempts(), FOR_GOOD, datetime(2025, 1, 6))
    with pytest.raises(ValueError):
        AttemptLimit(0, None)
    with pytest.raises(ValueError):
        AttemptLimit(5, timedelta(0))


# --- preset answers ---------------------------------------------------------------


def test_preset_answers_are_easy_words_that_survive_normalise() -> None:
    """Return a colour and an animal or fruit, lowercase a-z, unchanged by normalise."""
    rng = random.Random(7)
    nouns = set(ANIMALS + FRUITS)
    for _ in range(200):
        answer = preset_answer(rng)
        colour, noun = answer.split(" ")
        assert colour in COLOURS
        assert noun in nouns
        assert normalise(answer) == answer


def test_preset_word_lists_are_easy_and_apart() -> None:
    """Keep words short, lowercase a-z, and each in one list only."""
    words = COLOURS + ANIMALS + FRUITS
    assert all(re.fullmatch(r"[a-z]{3,6}", w) for w in words)
    assert len(set(words)) == len(words)


def test_preset_answer_uses_the_system_random_by_default() -> None:
    """Draw from secrets by default: many draws are not all the same."""
    assert len({preset_answer() for _ in range(30)}) > 1


def test_preset_answers_differ_per_question_and_pass_the_check() -> None:
    """Give each question its own answer, so the set passes check_answer_set."""
    answers = preset_answers(CATALOGUE, random.Random(1))
    assert list(answers) == list(CATALOGUE)
    check_answer_set(answers, CATALOGUE, 3)
    with pytest.raises(ValueError):
        preset_answers(["a", "a"])


# --- check_answer_set ---------------------------------------------------------------


def test_check_answer_set_accepts_a_good_set() -> None:
    """Accept one different answer for each required catalogue question."""
    check_answer_set(ANSWERS, CATALOGUE, 3)


@pytest.mark.parametrize(
    ("answers", "reason", "question_ids"),
    [
        ({**ANSWERS, "pet_name": "Rex"}, "not on our list", ("pet_name",)),
        ({"favourite_colour": "blue", "favourite_city": "Paris"}, "You answered 2", ()),
        ({**ANSWERS, "favourite_colour": "  "}, "Please type an answer", ("favourite_colour",)),
        ({**ANSWERS, "favourite_city": "x" * 101}, "too long", ("favourite_city",)),
        (
            {**ANSWERS, "favourite_city": "BLUE", "favourite_colour": "blue"},
            "different answer to each question",
            ("favourite_colour", "favourite_city"),
        ),
    ],
)
def test_check_answer_set_names_each_problem(
    answers: Mapping[str, str], reason: str, question_ids: tuple[str, ...]
) -> None:
    """Say what is wrong, next to the question it is about."""
    with pytest.raises(InvalidAnswer, match=reason) as caught:
        check_answer_set(answers, CATALOGUE, 3)
    assert [p.question_ids for p in caught.value.problems if reason in p.reason] == [question_ids]


def test_check_answer_set_lists_every_problem_and_never_quotes_an_answer() -> None:
    """Report all problems at once, without the secret answers in the message."""
    answers = {"favourite_colour": "Secretword", "favourite_city": "secretword", "x_q": "Rex"}
    with pytest.raises(InvalidAnswer) as caught:
        check_answer_set(answers, CATALOGUE, 3)
    assert len(caught.value.problems) == 3
    assert "secret" not in str(caught.value).lower()
    assert "rex" not in str(caught.value).lower()


def test_check_answer_set_refuses_more_than_required() -> None:
    """Ask for exactly the required number when the catalogue has more."""
    with pytest.raises(InvalidAnswer, match="answer only 2"):
        check_answer_set(ANSWERS, CATALOGUE, 2)


# --- layering and properties -----------------------------------------------------------


def test_module_imports_no_web_or_ldap_library() -> None:
    """Keep the core module free of flask and ldap3 imports."""
    import bridge.core.challenges as challenges

    with open(challenges.__file__, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    imported = {
        alias.name for n in ast.walk(tree) if isinstance(n, ast.Import) for alias in n.names
    }
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert roots.isdisjoint({"flask", "ldap3"})


@settings(max_examples=1000)
@given(st.text())
def test_property_normalise_is_idempotent_and_well_shaped(answer: str) -> None:
    """Return a fixed point of normalise with single inner spaces, or refuse."""
    try:
        result = normalise(answer)
    except InvalidAnswer:
        return
    assert normalise(result) == result
    assert result == result.strip()
    assert "  " not in result
    assert 1 <= len(result) <= MAX_ANSWER_LENGTH
