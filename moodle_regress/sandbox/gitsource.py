"""Moodle code trees by version, from a git repository kept in the state folder.

``--from 4.5`` (the ``MOODLE_405_STABLE`` branch), ``4.5.6`` (the tag ``v4.5.6``),
a tag, a branch or a commit: :meth:`MoodleGitSource.tree` fetches what the bare clone
lacks (only that commit, ``--depth 1``) and exports its tree into a cache folder
named after the commit, where later runs find it.

- The repository is the official one unless the settings name another
  (``[moodle] git = "file:///srv/mirrors/moodle.git"``, or a fork holding the
  site's plugins; ``MOODLE_REGRESS_MOODLE_GIT`` overrides both: see config.py).
- Tags and commits never change: once fetched, they are used without asking the
  repository again.  A branch is looked up each time (``git ls-remote``); when the
  repository cannot be reached, the branch as last fetched is used, with a note.
- An export is written into a temporary folder and renamed into place when it is
  complete: an interrupted export never looks like a tree.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from moodle_regress.config import MOODLE_GIT_ENV, Settings
from moodle_regress.sandbox.errors import NotMoodleTreeError, SandboxError

#: Seconds to wait for the repository to list its references.
LS_REMOTE_TIMEOUT_S = 120

_RELEASE = re.compile(r"^(\d+)\.(\d+)$")  # 4.5 -> the stable branch
_POINT_RELEASE = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")  # 4.5.6 -> the tag v4.5.6
_COMMIT = re.compile(r"^[0-9a-f]{7,40}$")
_FULL_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class MoodleSourceError(SandboxError):
    """Moodle's code for a version could not be had from the git repository."""


class GitNotFoundError(MoodleSourceError):
    """git is not installed."""


class RepositoryUnreachableError(MoodleSourceError):
    """The configured Moodle repository does not answer."""


class UnknownVersionError(MoodleSourceError):
    """The repository has no tag, branch or commit of that name."""


@dataclass(frozen=True)
class ExportedTree:
    """A Moodle code tree exported from the repository."""

    spec: str
    ref: str | None
    commit: str
    path: Path
    #: False when an earlier run had exported this commit already.
    exported: bool
    seconds: float
    note: str | None = None

    def describe(self) -> str:
        how = f"exported in {self.seconds:.1f} s" if self.exported else "reused"
        name = self.ref.removeprefix("refs/tags/").removeprefix("refs/heads/") if self.ref else ""
        at = f"{name} {self.commit[:12]}" if name and name != self.spec else self.commit[:12]
        label = self.commit[:12] if self.spec == self.commit else f"{self.spec} ({at})"
        return f"Moodle {label}: {how}, {self.path}"


def looks_like_version(value: str) -> bool:
    """Whether ``value`` names a version rather than a folder (no slash, not a file)."""
    return "/" not in value and not value.startswith(".") and value not in {"", "~"}


def candidate_refs(spec: str) -> list[str]:
    """The references a version names, most likely first."""
    if match := _RELEASE.match(spec):
        major, minor = int(match.group(1)), int(match.group(2))
        return [f"refs/heads/MOODLE_{major}{minor:02d}_STABLE"]
    if _POINT_RELEASE.match(spec):
        return [f"refs/tags/v{spec}"]
    return [f"refs/tags/{spec}", f"refs/heads/{spec}"]


class MoodleGitSource:
    """One bare clone of a Moodle repository, and the trees exported from it."""

    def __init__(self, home: Path, url: str) -> None:
        self.url = url
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:10]
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.url.rstrip("/").rsplit("/", 1)[-1])[:40]
        self.repo = home / "moodle-git" / f"{slug}-{digest}.git"
        self.exports = home / "moodle-code"

    # --- the public entry point ------------------------------------------------------

    def tree(self, spec: str) -> ExportedTree:
        """The code tree of ``spec`` (release, tag, branch or commit), exported once."""
        started = time.monotonic()
        _require_git()
        self._init_repo()
        with FileLock(str(self.repo) + ".lock"):
            ref, commit, note = self._resolve(spec.strip())
        target = self.exports / commit
        with FileLock(str(target) + ".lock"):
            exported = not target.is_dir()
            if exported:
                self._export(commit, target)
        return ExportedTree(
            spec=spec,
            ref=ref,
            commit=commit,
            path=target,
            exported=exported,
            seconds=time.monotonic() - started,
            note=note,
        )

    # --- finding the commit ------------------------------------------------------------

    def _resolve(self, spec: str) -> tuple[str | None, str, str | None]:
        if _COMMIT.match(spec):
            return None, self._commit(spec), None
        refs = candidate_refs(spec)
        for ref in refs:  # tags once fetched stay as they are
            if ref.startswith("refs/tags/") and (local := self._local(ref)):
                return ref, local, None
        try:
            remote = self._ls_remote(refs)
        except RepositoryUnreachableError as exc:
            for ref in refs:
                if local := self._local(ref):
                    return ref, local, f"{exc.cause}; using {ref} as fetched earlier"
            raise
        for ref in refs:
            if ref in remote:
                if self._local(ref) != remote[ref]:
                    self._fetch(f"+{ref}:{ref}")
                return ref, remote[ref], None
        raise self._unknown(spec)

    def _commit(self, spec: str) -> str:
        if local := self._local(spec):
            return local
        if not _FULL_COMMIT.match(spec):
            raise UnknownVersionError(
                f"commit {spec} is not in the local clone of {self.url}",
                "give the full 40-character commit hash (a short one can only name a "
                "commit fetched before)",
            )
        self._fetch(f"+{spec}:refs/moodle-regress/commits/{spec}")  # a ref keeps it
        return spec

    def _local(self, name: str) -> str | None:
        done = self._git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}", check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def _ls_remote(self, refs: list[str]) -> dict[str, str]:
        done = self._git("ls-remote", "--refs", self.url, *refs, check=False, network=True)
        if done.returncode != 0:
            raise self._unreachable(done.stderr)
        found: dict[str, str] = {}
        for line in done.stdout.splitlines():
            commit, _, name = line.partition("\t")
            found[name] = commit
        return found

    def _fetch(self, refspec: str) -> None:
        done = self._git(
            "fetch", "--depth", "1", "--no-tags", self.url, refspec, check=False, network=True
        )
        if done.returncode == 0:
            return
        if "not our ref" in done.stderr or "couldn't find remote ref" in done.stderr:
            raise UnknownVersionError(
                f"{self.url} has no commit {refspec}",
                "give a tag (v4.5.6), a branch (MOODLE_405_STABLE) or a commit the "
                "repository holds",
            )
        raise self._unreachable(done.stderr)

    def _unknown(self, spec: str) -> UnknownVersionError:
        names = self._remote_names()
        close = difflib.get_close_matches(spec, names, n=4, cutoff=0.6)
        close = close or difflib.get_close_matches(f"v{spec}", names, n=4, cutoff=0.6)
        hint = f"; close names there: {', '.join(close)}" if close else ""
        return UnknownVersionError(
            f"{self.url} has no Moodle version {spec!r} (looked for "
            f"{', '.join(candidate_refs(spec))}){hint}",
            "give a release (4.5 for MOODLE_405_STABLE, 4.5.6 for v4.5.6), a tag, a branch "
            "or a commit of that repository, or a Moodle code folder",
        )

    def _remote_names(self) -> list[str]:
        done = self._git("ls-remote", "--refs", self.url, check=False, network=True)
        return [
            line.partition("\t")[2].removeprefix("refs/tags/").removeprefix("refs/heads/")
            for line in done.stdout.splitlines()
        ]

    def _unreachable(self, stderr: str) -> RepositoryUnreachableError:
        reason = " ".join(stderr.strip().splitlines()[-2:]) or "no answer"
        return RepositoryUnreachableError(
            f"cannot reach the Moodle repository {self.url}: {reason}",
            "check the network, or set [moodle] git in the settings file (or "
            f"{MOODLE_GIT_ENV}) to a reachable mirror, e.g. "
            'git = "file:///srv/mirrors/moodle.git"; '
            "or pass a Moodle code folder instead of a version",
        )

    # --- the clone and the export ------------------------------------------------------

    def _init_repo(self) -> None:
        if (self.repo / "HEAD").is_file():
            return
        self.repo.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(self.repo) + ".lock"):
            if not (self.repo / "HEAD").is_file():
                self._git("init", "--quiet", "--bare", str(self.repo), git_dir=False)

    def _export(self, commit: str, target: Path) -> None:
        """Check the commit's files out into ``target``, atomically."""
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{commit}.*.tmp"):  # from interrupted runs
            shutil.rmtree(stale, ignore_errors=True)
        staging = target.parent / f".{commit}.{os.getpid()}.tmp"
        index = staging.with_name(staging.name + "-index")
        try:
            staging.mkdir()
            env = {"GIT_INDEX_FILE": str(index), "GIT_WORK_TREE": str(staging)}
            self._git("read-tree", commit, env=env)
            self._git("checkout-index", "--all", env=env)
            staging.rename(target)
        finally:
            index.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)

    def _git(
        self,
        *args: str,
        check: bool = True,
        network: bool = False,
        git_dir: bool = True,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        command = ["git", *([f"--git-dir={self.repo}"] if git_dir else []), *args]
        full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                env=full_env,
                timeout=LS_REMOTE_TIMEOUT_S if args[0] == "ls-remote" else None,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise self._unreachable(f"no answer in {LS_REMOTE_TIMEOUT_S} s") from None
        if check and done.returncode != 0:
            raise MoodleSourceError(
                f"git {args[0]} failed in {self.repo}: {done.stderr.strip()[-300:]}",
                f"remove {self.repo} and try again" if not network else None,
            )
        return done


def _require_git() -> None:
    if shutil.which("git") is None:
        raise GitNotFoundError(
            "git is not installed: it is needed to get Moodle's code by version",
            "apt-get install git (scripts/bootstrap does), or pass a Moodle code folder",
        )


def resolve_code(
    value: str | Path, settings: Settings, *, report: Callable[[ExportedTree], None] | None = None
) -> Path:
    """A Moodle code folder as given, or the exported tree of the version ``value`` names."""
    path = Path(value).expanduser()
    if path.is_dir():
        return path
    if not looks_like_version(str(value)):
        raise NotMoodleTreeError(
            f"{value}: no such folder",
            "give a Moodle code folder or a version: 4.5, 4.5.6, v4.5.6, MOODLE_405_STABLE "
            "or a commit",
        )
    exported = MoodleGitSource(settings.home, settings.moodle_git).tree(str(value))
    if report is not None:
        report(exported)
    return exported.path
