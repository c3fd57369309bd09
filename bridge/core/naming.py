"""Build login IDs (``<local>@<domain>``) from full names.

The local part is made from the full name; the domain comes from
configuration (one per role) and is passed in by the caller, never
hard-coded here.  Duplicates get ``_1``, ``_2``, ... suffixes, tried in order
by an allocator that does atomic adds (see :func:`candidates`).

Decisions (input -> local part):

    Muhammad Ali Bin Muhammad Raihan -> muhammad_ali_muhammad_raihan
    Rajesh s/o Kumar, Rajesh S / O Kumar -> rajesh_kumar   (connector words,
        any case, whole words only; default bin binte bte bt s/o d/o a/l a/p)
    Siti Binte Ahmad             -> siti_ahmad
    Tan So Ling, Lim Al Kumar    -> tan_so_ling, lim_al_kumar   (bare so/do/al/ap
                                    are real name syllables: kept)
    Bin Ahmad, Li Bin            -> bin_ahmad, li_bin   (a connector is dropped
                                    only *between* two name words)
    Bin, S/O                     -> InvalidName   (only connector words)
    José Núñez, Zoë              -> jose_nunez, zoe   (anyascii)
    陈大文                       -> chen_da_wen   (one word per Han character or
                                    Hangul syllable, like "Tan Ah Kow")
    முருகன், محمد                  -> murukn, mhmd   (anyascii, as it comes)
    Lee-Ann Wong                 -> lee_ann_wong   (hyphens, dots, commas,
                                    slashes, other punctuation separate words)
    D'Souza, O’Brien             -> dsouza, obrien   (apostrophes join)
    Tan Ah Kow Jr., A. Rahman    -> tan_ah_kow_jr, a_rahman
    Tan, Mary                    -> tan_mary   (order kept as typed)
    Tan Mei Ling (Chen Meiling)  -> tan_mei_ling   (balanced (), [], {} groups
                                    dropped, nested too; a stray bracket is a
                                    separator: "Tan (Mei Ling" -> tan_mei_ling)
    tabs, U+00A0, edge spaces    -> one "_" between words, none at the ends
    zero-width chars, soft hyphen -> removed (invisible, so letters join)
    emoji, (TM) and other symbols -> separators: "Mary😀Tan" -> mary_tan
    (), ---, "", "   "           -> InvalidName   (nothing left)
    longer than 64 characters    -> whole trailing words dropped; a first word
                                    longer than the limit is cut

The result always matches ``^[a-z0-9]+(_[a-z0-9]+)*$``.  :func:`with_suffix`
cuts the base (again at a word boundary where possible) so that base plus
``_N`` fits in ``max_local_length`` (64, the RFC 5321 limit).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from anyascii import anyascii

__all__ = [
    "DEFAULT_CONNECTOR_WORDS",
    "DEFAULT_RULES",
    "RFC5321_MAX_LOCAL_LENGTH",
    "InvalidLoginId",
    "InvalidName",
    "LoginId",
    "NamingRules",
    "base_local_part",
    "candidates",
    "with_suffix",
]

RFC5321_MAX_LOCAL_LENGTH = 64
_MAX_DOMAIN_LENGTH = 253
_MAX_ADDRESS_LENGTH = 254

DEFAULT_CONNECTOR_WORDS: frozenset[str] = frozenset(
    {"bin", "binte", "binti", "bte", "bt", "s/o", "d/o", "a/l", "a/p"}
)

_CONNECTOR_RE = re.compile(r"[a-z0-9]+(?:/[a-z0-9]+)*")
_BASE_RE = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")
_LOCAL_RE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*")
_LABEL_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

# Apostrophe-like characters join the letters around them ("D'Souza").
# They are removed before NFKC because NFKC turns U+00B4 into a space.
_APOSTROPHES = frozenset("'`\u00b4\u2018\u2019\u02bc\u02bb\u2032\uff07")
_OPENERS = "([{"
_CLOSERS = ")]}"
_SYLLABIC_PREFIXES = (
    "CJK UNIFIED IDEOGRAPH",
    "CJK COMPATIBILITY IDEOGRAPH",
    "HANGUL SYLLABLE",
)
_SEPARATORS_AROUND_SLASH = re.compile(r" */ *")
_NOT_WORD_OR_SLASH = re.compile(r"[^a-z0-9/]+")


class InvalidName(ValueError):
    """A full name from which no login ID can be made."""


class InvalidLoginId(ValueError):
    """A malformed login ID."""


@dataclass(frozen=True)
class NamingRules:
    """Hold the configurable rules for building login IDs."""

    connector_words: frozenset[str] = DEFAULT_CONNECTOR_WORDS
    max_local_length: int = RFC5321_MAX_LOCAL_LENGTH

    def __post_init__(self) -> None:
        """Normalise connector words to lowercase and validate the rules."""
        words = frozenset(w.strip().lower() for w in self.connector_words)
        bad = sorted(w for w in words if not _CONNECTOR_RE.fullmatch(w))
        if bad:
            raise ValueError(
                f"connector words must be letters/digits, optionally joined by '/'"
                f" (like 's/o'); got {bad!r}"
            )
        object.__setattr__(self, "connector_words", words)
        if not 1 <= self.max_local_length <= RFC5321_MAX_LOCAL_LENGTH:
            raise ValueError(
                f"max_local_length must be between 1 and {RFC5321_MAX_LOCAL_LENGTH},"
                f" got {self.max_local_length}"
            )


DEFAULT_RULES = NamingRules()


def _transliterate(text: str) -> str:
    """Return text in ASCII, one word per Han character or Hangul syllable."""
    out: list[str] = []
    for ch in text:
        if ch.isascii():
            out.append(ch)
        elif unicodedata.category(ch).startswith("S"):
            out.append(" ")  # emoji, (TM), (C), ...: not part of a name
        elif unicodedata.name(ch, "").startswith(_SYLLABIC_PREFIXES):
            out.append(f" {anyascii(ch)} ")
        else:
            out.append(anyascii(ch))
    return "".join(out)


def _drop_bracketed(text: str) -> str:
    """Replace each balanced bracket group with a space; leave stray brackets."""
    spans: list[tuple[int, int]] = []
    stack: list[int] = []
    for i, ch in enumerate(text):
        if ch in _OPENERS:
            stack.append(i)
        elif ch in _CLOSERS and stack:
            spans.append((stack.pop(), i))
    chars = list(text)
    # Groups are nested or disjoint: blank each outermost group once.
    covered = -1
    for start, end in sorted(spans):
        if end > covered:
            chars[start : end + 1] = " " * (end + 1 - start)
            covered = end
    return "".join(chars)


def _pre_nfkc(ch: str) -> str:
    """Return ch, '' for an apostrophe or invisible char, ' ' for a symbol."""
    if ch in _APOSTROPHES or unicodedata.category(ch) == "Cf":
        return ""
    if not ch.isascii() and unicodedata.category(ch).startswith("S"):
        return " "  # before NFKC, which would turn the trademark sign into "TM"
    return ch


def _words(full_name: str) -> list[str]:
    """Return the lowercase ASCII tokens of a name; connectors keep their '/'."""
    text = "".join(_pre_nfkc(ch) for ch in full_name)
    text = _transliterate(unicodedata.normalize("NFKC", text))
    text = text.replace("'", "").replace("`", "").lower()
    text = _drop_bracketed(text)
    text = _NOT_WORD_OR_SLASH.sub(" ", text)
    text = _SEPARATORS_AROUND_SLASH.sub("/", text)
    return [token.strip("/") for token in text.split() if token.strip("/")]


def _split_slashes(tokens: Iterable[str]) -> list[str]:
    """Return the tokens split at '/', without empty pieces."""
    return [piece for token in tokens for piece in token.split("/") if piece]


def _cut(base: str, limit: int) -> str:
    """Return base cut to at most limit chars, at an underscore if possible."""
    return cut_at(base, limit, "_")


def cut_at(text: str, limit: int, separator: str) -> str:
    """Return text cut to at most limit characters, at a separator if possible."""
    if len(text) <= limit:
        return text
    if text[limit] == separator:
        return text[:limit]
    head = text[:limit]
    boundary = head.rfind(separator)
    return head[:boundary] if boundary > 0 else head


def numbered(base: str, n: int, separator: str, max_length: int) -> str:
    """Return ``base<separator><n>``, base cut at separators so the whole fits max_length.

    The last part is always n itself, so distinct n give distinct results; a base that already
    ends in ``<separator><n>`` (a 64-character base ending in "_5", say) is cut one more
    character's worth, since cutting it for the suffix would give the uncut base back.
    """
    suffix = f"{separator}{n}"
    room = max_length - len(suffix)
    if room < 1:
        raise ValueError(f"suffix {suffix!r} leaves no room in {max_length} characters")
    head = cut_at(base, room, separator)
    if head + suffix == cut_at(base, max_length, separator):
        if len(head) < 2:
            raise ValueError(f"suffix {suffix!r} leaves no room in {max_length} characters")
        head = cut_at(base, len(head) - 1, separator)
    return head + suffix


def _shown(full_name: str) -> str:
    """Return the name quoted for an error message, shortened if very long."""
    return repr(full_name if len(full_name) <= 80 else full_name[:77] + "...")


def base_local_part(full_name: str, rules: NamingRules = DEFAULT_RULES) -> str:
    """Return the login ID's local part for a full name, without any duplicate suffix."""
    tokens = _words(full_name)
    is_connector = [t in rules.connector_words for t in tokens]
    if tokens and all(is_connector):
        raise InvalidName(
            f"Cannot make a login ID from the name {_shown(full_name)}: it only has"
            " connector words such as 'bin' or 's/o'. Please enter the full name."
        )
    named = [i for i, c in enumerate(is_connector) if not c]
    kept = [t for i, t in enumerate(tokens) if not is_connector[i] or not named[0] < i < named[-1]]
    words = _split_slashes(kept)
    if not words:
        raise InvalidName(
            f"Cannot make a login ID from the name {_shown(full_name)}: it has no"
            " letters or digits once brackets and symbols are left out."
            " Please enter the full name."
        )
    return _cut("_".join(words), rules.max_local_length)


def with_suffix(base: str, n: int, rules: NamingRules = DEFAULT_RULES) -> str:
    """Return base for n == 0, else base_<n>, cut so the whole fits max_local_length."""
    if not _BASE_RE.fullmatch(base):
        raise ValueError(f"not a generated login ID base: {base!r}")
    if n < 0:
        raise ValueError(f"suffix number must be >= 0, got {n}")
    if n == 0:
        return _cut(base, rules.max_local_length)
    return numbered(base, n, "_", rules.max_local_length)


def candidates(base: str, rules: NamingRules = DEFAULT_RULES) -> Iterator[str]:
    """Yield base, base_1, base_2, ... for an allocator that tries atomic adds in order."""
    for n in itertools.count():
        yield with_suffix(base, n, rules)


def _check_local(local: str) -> None:
    """Raise InvalidLoginId unless local is a valid lowercase local part."""
    if not 1 <= len(local) <= RFC5321_MAX_LOCAL_LENGTH:
        raise InvalidLoginId(
            f"the part before '@' must be 1 to {RFC5321_MAX_LOCAL_LENGTH}"
            f" characters, got {len(local)}"
        )
    if not _LOCAL_RE.fullmatch(local):
        raise InvalidLoginId(
            f"the part before '@' ({local!r}) may only use letters, digits, '_',"
            " '-' and '.', with no dot at the start or end and no two dots in a row"
        )


def _check_domain(domain: str) -> None:
    """Raise InvalidLoginId unless domain is a valid lowercase DNS name."""
    labels = domain.split(".")
    if (
        not 1 <= len(domain) <= _MAX_DOMAIN_LENGTH
        or len(labels) < 2
        or not all(_LABEL_RE.fullmatch(label) for label in labels)
        or labels[-1].isdigit()
    ):
        raise InvalidLoginId(
            f"the part after '@' ({domain!r}) is not a valid domain name such as 'students.edu.sg'"
        )


@dataclass(frozen=True, order=False)
class LoginId:
    """A login ID value type: normalised lowercase local@domain with case-insensitive equality."""

    local: str
    domain: str

    def __post_init__(self) -> None:
        """Lowercase both parts and validate them."""
        if not (self.local.isascii() and self.domain.isascii()):
            raise InvalidLoginId(
                f"login ID {self.local + '@' + self.domain!r} must use ASCII characters only"
            )
        local, domain = self.local.lower(), self.domain.lower()
        _check_local(local)
        _check_domain(domain)
        if len(local) + 1 + len(domain) > _MAX_ADDRESS_LENGTH:
            raise InvalidLoginId(f"login ID is longer than {_MAX_ADDRESS_LENGTH} characters")
        object.__setattr__(self, "local", local)
        object.__setattr__(self, "domain", domain)

    @classmethod
    def parse(cls, text: str) -> LoginId:
        """Parse 'local@domain' case-insensitively; raise InvalidLoginId if malformed."""
        if text.count("@") != 1:
            raise InvalidLoginId(
                f"login ID {text!r} must contain exactly one '@', like 'mary_tan@students.edu.sg'"
            )
        local, domain = text.split("@")
        return cls(local, domain)

    def __str__(self) -> str:
        """Return 'local@domain'."""
        return f"{self.local}@{self.domain}"
