"""The package as a plain `pip install` leaves it: a wheel of this tree, in a venv of its own.

The wheel is built offline (`pip wheel --no-build-isolation --no-index`, with this venv's
setuptools) from a copy of the tree, so no build/ or egg-info lands in the checkout. It is
installed with `--no-deps` into a new venv that sees this venv's dependencies through a .pth
file (which runs none of this venv's .pth files, so not its editable install of the bridge),
and run from a folder outside the checkout: nothing can be read from beside the source.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cli import mims
from tests.support.ports import free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# What the build reads: the package (whose resources/ links to config/ and schemas/), those two
# folders, and the project's metadata.
SOURCES = ("bridge", "config", "schemas", "pyproject.toml", "README.md")


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command with this environment less MIMS_*, coverage's and Python's path variables."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MIMS_", "COVERAGE_")) and k not in ("PYTHONPATH", "PYTHONHOME")
    }
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        env=environment,
        cwd=cwd,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the tree, as `pip wheel .` does; return its path."""
    tree = tmp_path_factory.mktemp("tree")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(ROOT / name, tree / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(ROOT / name, tree / name)
    out = tmp_path_factory.mktemp("dist")
    built = run(
        sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-index",
        "--no-build-isolation", "--wheel-dir", out, tree,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-3000:]
    (path,) = out.glob("mims_bridge-*.whl")
    return path


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the wheel into a new venv; return that venv's folder."""
    venv = tmp_path_factory.mktemp("venv")
    made = run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    purelib = run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))")
    dependencies = Path(purelib.stdout.strip()) / "dependencies.pth"
    dependencies.write_text(sysconfig.get_path("purelib") + "\n")
    done = run(
        sys.executable, "-m", "pip", "--python", python, "install", "--quiet", "--no-deps",
        "--no-index", wheel,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return venv


@pytest.fixture
def outside() -> Iterator[Path]:
    """Return an empty folder outside the checkout, short enough for slapd's ldapi socket."""
    folder = Path(tempfile.mkdtemp(prefix="mims-pkg-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    # Templates, static files, the common-password list, py.typed, and config/default.toml and
    # schemas/mims.ldif through the links in bridge/resources/.
    package = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "bridge").glob("**/*")
        if path.is_file() and "__pycache__" not in path.parts
    } | {
        f"bridge/resources/{folder}/{path.name}"
        for folder in ("config", "schemas")
        for path in (ROOT / folder).iterdir()
    }
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name for name in archive.namelist() if name.startswith("bridge/")}
    assert "bridge/resources/config/default.toml" in package
    assert "bridge/resources/schemas/mims.ldif" in package
    assert package - shipped == set()
    assert shipped - package == set()


def test_the_installed_mims_is_the_wheels_and_runs(installed: Path, outside: Path) -> None:
    found = run(
        installed / "bin" / "python", "-c", "import bridge; print(bridge.__file__)", cwd=outside
    )
    assert Path(found.stdout.strip()).is_relative_to(installed), found.stdout + found.stderr
    for args in (["--help"], ["directory", "export-config", "--help"]):
        result = run(installed / "bin" / "mims", *args, cwd=outside)
        assert (result.returncode, result.stderr) == (0, ""), args
        assert result.stdout.startswith("Usage: mims"), result.stdout


def test_the_installed_mims_reads_its_schema_and_defaults(installed: Path, outside: Path) -> None:
    # The schema as schemas/mims.ldif has it, for the suffix config/default.toml names.
    command = (installed / "bin" / "mims", "directory", "export-config", "--part", "config")
    result = run(*command, cwd=outside)
    assert result.returncode == 0, result.stderr
    schema = (ROOT / "schemas" / "mims.ldif").read_text()
    oid = schema.split("olcObjectClasses: ( ", 1)[1].split()[0]
    assert f"olcObjectClasses: ( {oid} " in result.stdout
    assert "for the database of dc=mims,dc=example " in result.stdout


def test_the_installed_mims_makes_a_data_folder(installed: Path, outside: Path) -> None:
    data = outside / "d"
    made = run(installed / "bin" / "mims", "slapd", "init", "--data-dir", data, cwd=outside)
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"initialised {data} (suffix dc=mims,dc=example)")


def test_a_data_folder_made_by_a_checkout_runs_under_the_installed_package(
    installed: Path, outside: Path
) -> None:
    # The way from the editable install of a checkout to a plain one: a data folder is bound
    # to no path of the code that made it.
    data = outside / "d"
    made = mims("slapd", "init", "--data-dir", str(data))
    assert made.returncode == 0, made.stderr
    command = (installed / "bin" / "mims", "slapd")
    try:
        port = str(free_port())
        started = run(*command, "start", "--data-dir", data, "--port", port, cwd=outside)
        assert started.returncode == 0, started.stderr
        status = run(*command, "status", "--data-dir", data, cwd=outside)
        assert status.returncode == 0, status.stdout + status.stderr
        assert ", answering" in status.stdout
    finally:
        stopped = run(*command, "stop", "--data-dir", data, cwd=outside)
    assert (stopped.returncode, stopped.stdout) == (0, "slapd stopped\n"), stopped.stderr
