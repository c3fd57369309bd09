"""What every phase gets (Context) and gives back (PhaseResult)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.machine import ROOT
from bench.population import Population
from bench.report import Measurement
from bench.workspace import Workspace


@dataclass
class Context:
    """What every phase gets: the settings of the run, the workspace and a progress line."""

    people: int
    workers: int
    repeat: int
    sync: bool
    profile: bool
    workspace: Workspace
    population: Population
    results_dir: Path
    stem: str
    progress: Callable[[str], None]
    python: str = sys.executable
    ha_kills: int = 20  # the `ha` phase: kills of the write target for the failover pause
    ha_down_seconds: float = 60.0  # how long B is down before its catch-up
    ha_lag_seconds: float = 20.0  # how long each side writes at each rate for the lag
    mixed_clients: tuple[int, ...] = ()  # the `mixed` phase's levels (empty: its default)
    profile_import: bool = True  # with ``profile``: also profile one more import (--profile all)

    def bridge_env(self, data_dir: Path) -> dict[str, str]:
        """Return the environment of a `mims` command: no MIMS_* of the caller, our data dir.

        PYTHONPATH names this tree, so that `python -m bridge.cli` runs the code the run's
        source digest describes, whatever folder the benchmark was started from.
        """
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIMS_")}
        env["MIMS_DATA_DIR"] = str(data_dir)
        env["PYTHONUNBUFFERED"] = "1"
        env["PYTHONPATH"] = str(ROOT)
        return env

    def mims(self, *args: str) -> list[str]:
        """Return the command line of `mims ARGS` with the benchmark's Python."""
        return [self.python, "-m", "bridge.cli", *args]


@dataclass
class PhaseResult:
    """A phase's rows for the table and its details for the JSON file."""

    measurements: list[Measurement]
    details: dict[str, Any] = field(default_factory=dict)
