"""How hard a password is to guess (zxcvbn), and what makes it easy, in words a child follows.

zxcvbn scores a password from 0 to 4 by the guesses an attacker who knows how people choose
passwords would need: 2 is at least a million (safe against guessing at the sign-in page, which
locks after a few tries), 3 at least a hundred million, 4 at least ten billion. ``Aaaaaaaaaaa1``
scores 2 and ``Welcome12345`` 1, though both meet the seeds' rules; ``TigerMangoDrum47`` and
``red cat jumps`` score 4. Each policy sets the score it needs (``min_strength``).

Only the first 32 characters are estimated: zxcvbn's work grows fast with length (a random
64-character password takes it most of a second, a stranger could send many), and a longer
password whose first 32 characters are hard to guess is harder still.

zxcvbn is not given the person's names: it keeps them in a module-wide table that the
portal's threads would share, and the name rule (``forbid_name_parts``) covers them anyway.
"""

from __future__ import annotations

from collections.abc import Mapping

from zxcvbn import zxcvbn

__all__ = ["MAX_SCORE", "shortest_for", "weakness"]

MAX_SCORE = 4
# zxcvbn's score thresholds are 10^3, 10^6, 10^8 and 10^10 guesses (plus 5); a random string
# of n characters counts as 10^n guesses, so these are the shortest lengths that reach each.
_SHORTEST = {0: 0, 1: 4, 2: 7, 3: 9, 4: 11}
_ESTIMATED_LENGTH = 32
_ADVICE = "Add another word or two that only you would think of."


def weakness(password: str, min_score: int) -> str | None:
    """Return why password is too easy to guess and what to do; None if it scores min_score."""
    if min_score <= 0 or not password:
        return None
    result = zxcvbn(password[:_ESTIMATED_LENGTH])
    if result["score"] >= min_score:
        return None
    matches = result["sequence"]
    longest = max(matches, key=lambda match: len(match["token"])) if matches else None
    return f"{_hint(longest)} {_ADVICE}"


def shortest_for(min_score: int) -> int:
    """Return the fewest characters a password needs to reach a score (0 for scores <= 0)."""
    return _SHORTEST[max(0, min(min_score, MAX_SCORE))]


def _hint(match: Mapping[str, object] | None) -> str:
    """Return what makes the longest guessable part easy, like zxcvbn's own feedback."""
    if match is None:
        return _EASY
    pattern = match.get("pattern")
    if pattern == "dictionary":
        return _DICTIONARIES.get(str(match.get("dictionary_name")), _WORD)
    if pattern == "regex" and match.get("regex_name") == "recent_year":
        return _YEARS
    return _PATTERNS.get(str(pattern), _EASY)


_EASY = "That password would be easy for someone to guess."
_WORD = "One everyday word, even with numbers added, is easy to guess."
_YEARS = "Years, like 2015, are easy to guess."
_PATTERNS = {
    "spatial": "Keys that sit next to each other, like qwerty, are easy to guess.",
    "repeat": "Letters or numbers said again, like aaa or 1212, are easy to guess.",
    "sequence": "Letters or numbers in order, like abc or 1234, are easy to guess.",
    "date": "Dates, like a birthday, are easy to guess.",
}
_DICTIONARIES = {
    "passwords": "That is too much like a password lots of people use.",
    "surnames": "Names are easy to guess.",
    "male_names": "Names are easy to guess.",
    "female_names": "Names are easy to guess.",
}
