"""The benchmark of mims-bridge: the bridge against the raw directory, side by side, in one run.

Run it with ``bench/run`` (see bench/README.md). Each phase lives in ``bench/phases/``.
"""
