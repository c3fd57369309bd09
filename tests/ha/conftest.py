"""High-availability fixtures: a replicated pair of real slapds, made with the `mims` CLI.

Module-scoped: a pair costs a few seconds to make, and the tests of a module share it (each
test compares whole trees, so what an earlier test left there is compared too).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import netns
from tests.support.replicas import Pair, replicated_pair


@pytest.fixture(scope="module")
def pair() -> Iterator[Pair]:
    """Two providers on loopback, replicating both ways."""
    with replicated_pair() as made:
        yield made


@pytest.fixture(scope="module")
def separated_pair() -> Iterator[Pair]:
    """Two providers, each in a network namespace of its own, whose link can be cut."""
    reason = netns.skip_reason()
    if reason:
        pytest.skip(reason)
    with replicated_pair(namespaces=True) as made:
        yield made
