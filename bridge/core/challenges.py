"""Challenge answers for self-service password reset: normalise, hash, verify, limit.

An answer is normalised, then stored only as an Argon2id hash with its own
16-byte salt, as ``<question id>:<PHC string>`` (the ``mimsChallengeAnswer``
attribute in ``schemas/mims.ldif``).  A reset needs every stored answer right
(3 of 3 in the seeds).

Normalisation (typed -> compared), forgiving to children who type sloppily,
without letting different real answers meet:

    "  Zoë ", "ZOE", "zoe"          -> zoe          (case folded; edge spaces gone)
    "São  Paulo", "sao\\tpaulo"      -> sao paulo    (Latin accents folded; a run
                                                    of spaces, tabs, U+00A0 is one space)
    "Ｌｏｎｄｏｎ"                   -> london       (NFKC: full-width letters)
    "Straße", "Strasse"             -> strasse      (case folding)
    "Søren", "Łódź", "Æsa"          -> soren, lodz, aesa   (Latin letters that do
                                                    not decompose, by a small table)
    "St. Louis", "St Louis", "st-louis" -> st louis (punctuation and symbols
                                                    separate words)
    "O'Brien", "O’Brien", "OBrien"  -> obrien       (apostrophes join)
    "O Brien", "Lee Ann" vs "LeeAnn" -> differ      (a space is kept: "tan ah" and
                                                    "tanah" are different answers)
    "red ❤️", "#1 red"              -> red, 1 red   (emoji and symbols separate)
    "陈美玲", "முருகன்"              -> as typed      (other scripts are kept, marks
                                                    and all: only case and width fold,
                                                    so Greek and Cyrillic keep accents)
    zero-width chars, soft hyphen   -> removed
    "", "  ", "?!", "💙"            -> InvalidAnswer (no letter or digit left)
    over 100 characters once normalised -> InvalidAnswer

Accents are folded with ``unicodedata`` (NFD, drop the marks on a Latin or
ASCII base, NFC), not with anyascii: stored hashes must match for years, and
Unicode promises that decompositions never change, where a transliteration
table may; anyascii would also turn other scripts into Latin, so homophones
such as 北京 and 背景 (both "beijing") would match.  Marks on other scripts
are kept because there they are letters (Tamil vowel signs, Hindi matras).

A per-account attempt limit closes SSPR after the configured number of
wrong sets (``mimsSsprFailures``, ``mimsSsprLockedTime``) for ``[sspr]
lockout_minutes``, or until the school reopens it when that is 0.  A lock that
never expires would let any stranger take self-service reset away from a child
with five requests; one that expires gives a patient guesser five tries per
lock period, against some 27 bits of preset answers.  An attempt is claimed
(counted) before the answers are checked, so parallel tries never check more
than the limit; a right set then clears the count.
"""

from __future__ import annotations

import functools
import random
import re
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeAlias

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from bridge.core import hashers

__all__ = [
    "ANIMALS",
    "COLOURS",
    "DEFAULT_PARAMS",
    "FAST_PARAMS",
    "FRUITS",
    "MAX_ANSWER_LENGTH",
    "AnswerProblem",
    "AttemptLimit",
    "HashParams",
    "InvalidAnswer",
    "SsprAttempts",
    "Verifier",
    "check_answer_set",
    "claim_attempt",
    "dummy_verify",
    "hash_answer",
    "needs_rehash",
    "normalise",
    "parse_stored",
    "preset_answer",
    "preset_answers",
    "sspr_open",
    "verify_all",
    "verify_phc",
]

MAX_ANSWER_LENGTH = 100
# Longer input is refused before any work, so a huge form field costs nothing.
_MAX_RAW_LENGTH = 1000

# Same rule as the catalogue's ids in config.py: ASCII, and never a ':'.
_QUESTION_ID_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")
_PHC_RE = re.compile(
    r"\$argon2id\$v=19\$m=(?P<m>[0-9]+),t=(?P<t>[0-9]+),p=(?P<p>[0-9]+)"
    r"\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{11,}"
)

# Apostrophe-like characters join the letters around them ("O'Brien").
# They go before NFKC, which turns U+00B4 into a space and a combining accent.
_APOSTROPHES = frozenset("'`\u00b4\u2018\u2019\u02bc\u02bb\u2032\uff07")
# Latin letters (after case folding) that have no decomposition to strip.
_LATIN_LETTERS = {
    "æ": "ae",
    "œ": "oe",
    "ø": "o",
    "đ": "d",
    "ð": "d",
    "ħ": "h",
    "ł": "l",
    "ı": "i",
    "þ": "th",
    "ŧ": "t",
}
_KEPT_CATEGORIES = ("L", "M", "N")  # letters, marks, numbers; the rest separates

# Never the result of normalise, so verifying it against a stored hash fails.
_NO_ANSWER = ""

# Tells whether a normalised answer matches a PHC string; tests pass a counting one.
Verifier: TypeAlias = Callable[[str, str], bool]


@dataclass(frozen=True)
class AnswerProblem:
    """One thing wrong with an answer set, in words a child can act on."""

    reason: str
    question_ids: tuple[str, ...] = ()


class InvalidAnswer(ValueError):
    """An answer, or a set of answers, that cannot be saved; never quotes an answer."""

    def __init__(self, *problems: AnswerProblem) -> None:
        """Keep the problems; the message is their reasons, one after another."""
        super().__init__(" ".join(p.reason for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class HashParams:
    """Argon2id cost parameters (RFC 9106); memory in KiB."""

    memory_kib: int = 19456
    iterations: int = 2
    lanes: int = 1
    hash_length: int = 32
    salt_length: int = 16

    def __post_init__(self) -> None:
        """Refuse parameters Argon2id cannot use or that are too weak to salt."""
        if self.lanes < 1 or self.iterations < 1 or self.memory_kib < 8 * self.lanes:
            raise ValueError(
                "Argon2id needs lanes >= 1, iterations >= 1 and memory_kib >= 8 * lanes;"
                f" got {self}"
            )
        if self.hash_length < 16 or self.salt_length < 16:
            raise ValueError(f"hash_length and salt_length must be at least 16 bytes; got {self}")


# OWASP Password Storage Cheat Sheet: Argon2id, m=19 MiB, t=2, p=1.
DEFAULT_PARAMS = HashParams()
# For tests only: the smallest cost Argon2id allows.
FAST_PARAMS = HashParams(memory_kib=8, iterations=1, lanes=1)


def _too_long(limit: int) -> InvalidAnswer:
    """Return the error for an answer longer than limit characters."""
    return InvalidAnswer(
        AnswerProblem(f"That answer is too long. Please use at most {limit} letters and numbers.")
    )


def _fold_latin(text: str) -> str:
    """Return text with accents on Latin letters removed; other scripts unchanged."""
    out: list[str] = []
    latin_base = True  # a mark with no letter before it carries nothing
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.category(ch).startswith("M"):
            if not latin_base:
                out.append(ch)
            continue
        latin_base = ch.isascii() or unicodedata.name(ch, "").startswith("LATIN ")
        out.append(_LATIN_LETTERS.get(ch, ch))
    return unicodedata.normalize("NFC", "".join(out))


def normalise(answer: str) -> str:
    """Return the answer as it is hashed and compared (see the module's table)."""
    if len(answer) > _MAX_RAW_LENGTH:
        raise _too_long(MAX_ANSWER_LENGTH)
    # Variation selectors (U+FE00-FE0F) are marks that devices add or leave off.
    text = "".join(
        ch
        for ch in answer
        if ch not in _APOSTROPHES
        and unicodedata.category(ch) != "Cf"
        and not "\ufe00" <= ch <= "\ufe0f"
    )
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    text = "".join(
        ch if unicodedata.category(ch).startswith(_KEPT_CATEGORIES) else " " for ch in text
    )
    result = " ".join(_fold_latin(text).split())
    if not result:
        raise InvalidAnswer(
            AnswerProblem("Please type an answer. It needs at least one letter or number.")
        )
    if len(result) > MAX_ANSWER_LENGTH:
        raise _too_long(MAX_ANSWER_LENGTH)
    return result


def _check_question_id(question_id: str) -> None:
    """Raise ValueError unless question_id is a catalogue-style id."""
    if not _QUESTION_ID_RE.fullmatch(question_id):
        raise ValueError(
            f"question id must be lowercase letters, digits and '_', starting with a letter,"
            f" at most 40 characters; got {question_id!r}"
        )


def hash_answer(question_id: str, answer: str, params: HashParams = DEFAULT_PARAMS) -> str:
    """Return the stored value ``<question id>:<Argon2id PHC string>`` for an answer."""
    _check_question_id(question_id)
    kdf = Argon2id(
        salt=secrets.token_bytes(params.salt_length),
        length=params.hash_length,
        iterations=params.iterations,
        lanes=params.lanes,
        memory_cost=params.memory_kib,
    )
    typed = normalise(answer).encode()
    return f"{question_id}:{hashers.run(lambda: kdf.derive_phc_encoded(typed))}"


def parse_stored(value: str) -> tuple[str, str]:
    """Split a stored value into question id and PHC string; raise ValueError if malformed."""
    question_id, colon, phc = value.partition(":")
    if not colon or not _QUESTION_ID_RE.fullmatch(question_id) or not _PHC_RE.fullmatch(phc):
        # Only the id part is shown: the rest is a hash, and logs need not carry it.
        raise ValueError(
            f"not a stored challenge answer (<question id>:$argon2id$...): {question_id[:40]!r}..."
        )
    return question_id, phc


def needs_rehash(value: str, params: HashParams = DEFAULT_PARAMS) -> bool:
    """Tell whether a stored value was hashed with other cost parameters than params."""
    match = _PHC_RE.fullmatch(parse_stored(value)[1])
    assert match is not None  # parse_stored checked it
    return (int(match["m"]), int(match["t"]), int(match["p"])) != (
        params.memory_kib,
        params.iterations,
        params.lanes,
    )


def verify_phc(normalised_answer: str, phc: str) -> bool:
    """Tell whether a normalised answer matches an Argon2id PHC string."""
    typed = normalised_answer.encode()
    try:
        hashers.run(lambda: Argon2id.verify_phc_encoded(typed, phc))
    except InvalidKey:
        return False
    return True


@functools.cache
def _dummy_phc(params: HashParams) -> str:
    """Return a PHC string of a random secret, made once per params."""
    return parse_stored(hash_answer("dummy", secrets.token_urlsafe(16), params))[1]


def dummy_verify(
    count: int, params: HashParams = DEFAULT_PARAMS, verify: Verifier = verify_phc
) -> None:
    """Do count verifications against a dummy hash, to cost what a real check costs."""
    phc = _dummy_phc(params)
    for _ in range(count):
        verify(_NO_ANSWER, phc)


def _normalised_or_none(answer: str | None) -> str:
    """Return the normalised answer, or an answer that matches nothing."""
    if answer is None:
        return _NO_ANSWER
    try:
        return normalise(answer)
    except InvalidAnswer:
        return _NO_ANSWER


def verify_all(
    stored: Sequence[str],
    answers: Mapping[str, str],
    required: int,
    params: HashParams = DEFAULT_PARAMS,
    verify: Verifier = verify_phc,
) -> bool:
    """Tell whether answers gives exactly the stored questions, every one right.

    The work is the same whatever the outcome: every stored answer is verified
    (a missing or unreadable answer against a value that cannot match), and
    when fewer than ``required`` are stored the rest are dummy verifications,
    so an account without answers takes as long as one with them.
    """
    ok = len(stored) >= required
    seen: set[str] = set()
    for value in stored:
        try:
            question_id, phc = parse_stored(value)
        except ValueError:
            ok = False
            dummy_verify(1, params, verify)
            continue
        ok = ok and question_id not in seen
        seen.add(question_id)
        # No short-circuit: the verification runs even once ok is False.
        right = verify(_normalised_or_none(answers.get(question_id)), phc)
        ok = right and ok
    dummy_verify(max(0, required - len(stored)), params, verify)
    return ok and set(answers) == seen


def check_answer_set(
    answers: Mapping[str, str], catalogue_ids: Sequence[str], required: int
) -> None:
    """Raise InvalidAnswer listing everything wrong with a new set of answers."""
    problems: list[AnswerProblem] = []
    unknown = tuple(q for q in answers if q not in catalogue_ids)
    if unknown:
        problems.append(
            AnswerProblem(
                "Some of those questions are not on our list. Please pick from the list.", unknown
            )
        )
    known = [q for q in answers if q in catalogue_ids]
    if len(known) < required:
        problems.append(
            AnswerProblem(f"Please answer {required} questions. You answered {len(known)}.")
        )
    elif len(known) > required:
        problems.append(
            AnswerProblem(f"Please answer only {required} questions. You answered {len(known)}.")
        )
    by_answer: dict[str, list[str]] = {}
    for question_id in known:
        try:
            by_answer.setdefault(normalise(answers[question_id]), []).append(question_id)
        except InvalidAnswer as exc:
            problems.extend(replace(p, question_ids=(question_id,)) for p in exc.problems)
    for same in by_answer.values():
        if len(same) > 1:
            problems.append(
                AnswerProblem(
                    "Please give a different answer to each question."
                    " Some of your answers are the same.",
                    tuple(same),
                )
            )
    if problems:
        raise InvalidAnswer(*problems)


# --- attempt limit ---------------------------------------------------------


@dataclass(frozen=True)
class SsprAttempts:
    """The stored attempt state: mimsSsprFailures and mimsSsprLockedTime."""

    failures: int = 0
    locked_time: datetime | None = None

    def __post_init__(self) -> None:
        """Refuse a negative count or a lock time without a time zone."""
        if self.failures < 0:
            raise ValueError(f"failures must be >= 0, got {self.failures}")
        if self.locked_time is not None and self.locked_time.utcoffset() is None:
            raise ValueError("locked_time must carry a time zone (the directory keeps UTC)")


@dataclass(frozen=True)
class AttemptLimit:
    """Wrong sets of answers before SSPR closes, and for how long (None: until reopened)."""

    max_attempts: int
    lock: timedelta | None

    def __post_init__(self) -> None:
        """Refuse a limit below one and a lock that is not positive."""
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.lock is not None and self.lock <= timedelta(0):
            raise ValueError(f"lock must be positive or None, got {self.lock}")


def _expired(attempts: SsprAttempts, limit: AttemptLimit, now: datetime) -> bool:
    """Tell whether a lock was stamped and its time is over."""
    return (
        attempts.locked_time is not None
        and limit.lock is not None
        and now >= attempts.locked_time + limit.lock
    )


def sspr_open(attempts: SsprAttempts, limit: AttemptLimit, now: datetime) -> bool:
    """Tell whether SSPR may be tried now: no lock, or one whose time is over."""
    if now.utcoffset() is None:
        raise ValueError("now must carry a time zone (the directory keeps UTC)")
    if _expired(attempts, limit, now):
        return True
    return attempts.locked_time is None and attempts.failures < limit.max_attempts


def claim_attempt(
    attempts: SsprAttempts, limit: AttemptLimit, now: datetime
) -> SsprAttempts | None:
    """Return the state after taking one attempt, or None when SSPR is closed.

    The attempt counts as a failure until a right set clears it; taking the last one stamps
    the lock at ``now``. A lock whose time is over starts the count again.
    """
    if not sspr_open(attempts, limit, now):
        return None
    failures = 1 if _expired(attempts, limit, now) else attempts.failures + 1
    return SsprAttempts(failures, now if failures >= limit.max_attempts else None)


# --- answers the school presets on printed cards (P1 to P3) -----------------

# Everyday words a 7-year-old reads and types: lowercase a-z only, so a card
# never shows a capital or a digit to confuse (0/O, 1/l/I); one spelling
# everywhere (no grey/gray); no word in two lists.  12 x 48 pairs: about 9 bits
# an answer, 27 for three, against at most a handful of tries before the lock.
COLOURS: tuple[str, ...] = (
    "red", "blue", "green", "yellow", "pink", "purple",
    "orange", "brown", "black", "white", "gold", "silver",
)  # fmt: skip
ANIMALS: tuple[str, ...] = (
    "cat", "dog", "cow", "pig", "hen", "fox", "bee", "ant",
    "owl", "frog", "duck", "fish", "bear", "goat", "crab", "swan",
    "lion", "tiger", "zebra", "horse", "mouse", "panda", "sheep", "shark",
    "snake", "monkey", "rabbit", "parrot", "turtle", "whale", "camel", "otter",
)  # fmt: skip
FRUITS: tuple[str, ...] = (
    "apple", "pear", "plum", "fig", "kiwi", "mango", "grape", "peach",
    "cherry", "banana", "lemon", "lime", "melon", "papaya", "durian", "guava",
)  # fmt: skip

_SYSTEM_RANDOM = secrets.SystemRandom()


def preset_answer(rng: random.Random = _SYSTEM_RANDOM) -> str:
    """Return an easy answer for a printed card: a colour, a space, an animal or a fruit."""
    return f"{rng.choice(COLOURS)} {rng.choice(ANIMALS + FRUITS)}"


def preset_answers(
    question_ids: Sequence[str], rng: random.Random = _SYSTEM_RANDOM
) -> dict[str, str]:
    """Return a different preset answer for each question id."""
    if len(set(question_ids)) != len(question_ids) or len(question_ids) > 10:
        raise ValueError(f"need at most 10 different question ids, got {list(question_ids)}")
    chosen: list[str] = []
    while len(chosen) < len(question_ids):
        answer = preset_answer(rng)
        if answer not in chosen:
            chosen.append(answer)
    return dict(zip(question_ids, chosen, strict=True))
