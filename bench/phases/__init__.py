"""The benchmark's phases: each measures the bridge and a raw baseline in the same run.

A phase is a function ``run(context) -> PhaseResult``, registered here in the order phases run.
The SCIM and SSPR phases share one populated directory and its bridge (bench.population).
"""

from __future__ import annotations

from collections.abc import Callable

from bench.phases.context import Context, PhaseResult

__all__ = ["OPT_IN", "Context", "PhaseResult", "registry"]


def registry() -> dict[str, Callable[[Context], PhaseResult]]:
    """Return the phases by name, in the order they run."""
    from bench.phases import (
        bulk_import,
        console,
        ha,
        lookup,
        mixed,
        observability,
        peer,
        sspr,
        sync,
        walk,
        write,
    )

    return {
        "import": bulk_import.run,
        "lookup": lookup.run,
        "walk": walk.run,
        "write": write.run,
        "sspr": sspr.run,
        "console": console.run,
        "peer": peer.run,
        "mixed": mixed.run,
        "sync": sync.run,
        "observability": observability.run,
        "ha": ha.run,
    }


# Run only when named (`make bench-ha`, `--only ha`): its own pair of slapds, nothing to do
# with --people, and minutes that the full run's 30-minute budget does not have.
OPT_IN = ("ha",)
