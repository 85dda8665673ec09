"""The tool as a user installs it: wheels built from a clean copy of the checkout,
installed into a fresh virtual environment outside the checkout.

``installed_tool()`` builds once per state of the sources (a digest of every tracked
file) and reuses the result: tests/install checks the installed files and commands,
a live test runs a rehearsal with it.  Offline-capable: the wheels are built without
build isolation (the checkout's .venv has setuptools), and the dependencies come from
a wheelhouse made once by ``pip wheel`` and cached; installs use ``--no-index``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from filelock import FileLock
from platformdirs import user_cache_dir

ROOT = Path(__file__).resolve().parents[1]
PREFIX = "moodle-regress-installed-"
#: Installed copies older than this (from earlier states of the sources) are removed.
STALE_AFTER_S = 6 * 3600
COMPLETE = ".complete"


class InstallUnavailableError(Exception):
    """The dependencies' wheels are not cached and the package index cannot be reached."""


@dataclass(frozen=True)
class InstalledTool:
    """A fresh virtual environment holding the wheels of this checkout."""

    home: Path
    venv: Path
    client_venv: Path
    dist: Path
    build_log: str
    seconds: dict[str, float] = field(default_factory=dict)

    def bin(self, name: str) -> Path:
        return self.venv / "bin" / name

    def wheel(self, distribution: str) -> Path:
        (found,) = self.dist.glob(f"{distribution.replace('-', '_')}-*.whl")
        return found

    def run(self, *args: str | Path, cwd: Path | None = None, timeout: float = 600) -> str:
        """Run a program of the installed environment (outside the checkout); its output."""
        done = subprocess.run(
            [str(a) for a in args],
            cwd=cwd or self.home,
            env=outside_env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}{done.stderr}"
        return done.stdout + done.stderr


def outside_env() -> dict[str, str]:
    """The environment minus anything that would point Python at the checkout."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


#: What goes into the wheels (tests and the rest of the checkout do not).
PACKAGED = ("pyproject.toml", "README.md", "moodle_regress", "moodle_ws")


def source_files(root: Path = ROOT) -> list[str]:
    """What a clean clone would hold of the packaged folders: tracked files plus new,
    not ignored ones."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", *PACKAGED],
        cwd=root,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return sorted(p for p in listed.split("\0") if p and (root / p).is_file())


def source_digest(files: list[str], root: Path = ROOT) -> str:
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (root / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def installed_tool() -> InstalledTool:
    """The tool installed from this checkout's current sources (built once, then reused)."""
    files = source_files()
    home = Path(tempfile.gettempdir()) / f"{PREFIX}{source_digest(files)}"
    with FileLock(str(home) + ".lock"):
        if not (home / COMPLETE).is_file():
            _remove_stale(home)
            shutil.rmtree(home, ignore_errors=True)
            _build_and_install(home, files)
        seconds = {
            k: float(v)
            for k, v in (line.split("=") for line in (home / COMPLETE).read_text().split())
        }
        return InstalledTool(
            home=home,
            venv=home / "venv",
            client_venv=home / "client-venv",
            dist=home / "dist",
            build_log=(home / "build.log").read_text(),
            seconds=seconds,
        )


def _build_and_install(home: Path, files: list[str]) -> None:
    seconds: dict[str, float] = {}
    source = home / "source"
    for name in files:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    dist = home / "dist"
    started = time.monotonic()
    log = _pip(
        "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", dist, source, source / "moodle_ws"
    )
    (home / "build.log").write_text(log)
    seconds["build"] = time.monotonic() - started
    started = time.monotonic()
    wheelhouse = _wheelhouse(dist)
    seconds["wheelhouse"] = time.monotonic() - started
    for venv, requirement in (("venv", "moodle-regress"), ("client-venv", "moodle-ws")):
        started = time.monotonic()
        # No pip inside: this one installs into it (ensurepip would double the time).
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", home / venv], check=True)
        _pip(
            "--python", home / venv / "bin" / "python", "install", "--no-compile",
            "--no-index", "--find-links", dist, "--find-links", wheelhouse, _pinned(requirement),
        )  # fmt: skip
        seconds[venv] = time.monotonic() - started
    shutil.rmtree(source)  # the venvs hold everything; the copy was only for building
    (home / COMPLETE).write_text(" ".join(f"{k}={v:.1f}" for k, v in seconds.items()))


def _wheelhouse(dist: Path) -> Path:
    """Wheels of every dependency, made once per dependency list and cached."""
    requirements: list[str] = []
    for project in (ROOT / "pyproject.toml", ROOT / "moodle_ws" / "pyproject.toml"):
        requirements += tomllib.loads(project.read_text())["project"]["dependencies"]
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:16]
    house = Path(user_cache_dir("moodle-regress-tests")) / f"wheelhouse-{key}"
    with FileLock(str(house) + ".lock"):
        if not (house / COMPLETE).is_file():
            try:
                _pip("wheel", "-q", "-w", house, "--find-links", dist, _pinned("moodle-regress"))
            except subprocess.CalledProcessError as exc:
                raise InstallUnavailableError(
                    "no cached wheels of the dependencies and pip could not fetch them "
                    f"(is the package index reachable?): {exc.stderr[-500:]}"
                ) from None
            for ours in house.glob("moodle_*.whl"):  # rebuilt from the sources each time
                ours.unlink()
            (house / COMPLETE).touch()
    return house


def _pinned(distribution: str) -> str:
    """This checkout's release, never a same-named one from an index."""
    from moodle_regress import __version__

    return f"{distribution}=={__version__}"


def _pip(*args: str | Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "pip", *map(str, args)],
        capture_output=True,
        text=True,
        env=outside_env(),
        check=False,
    )
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, args, done.stdout, done.stderr)
    return done.stdout + done.stderr


def _remove_stale(keep: Path) -> None:
    """Installed copies of earlier sources, once they are old (they hold ~400 MB)."""
    for other in keep.parent.glob(f"{PREFIX}*"):
        stamp = other / COMPLETE
        old = stamp.is_file() and time.time() - stamp.stat().st_mtime > STALE_AFTER_S
        if other != keep and old:
            shutil.rmtree(other, ignore_errors=True)
