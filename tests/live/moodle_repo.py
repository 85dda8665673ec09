"""A bare git repository shaped like Moodle's, holding the configured real code trees.

This machine cannot reach Moodle's official repository, so live tests of Moodle's
code by version (``--from v4.5.6``) use this one through ``file://``: each
configured tree (4.5, 5.0) is one commit, tagged as its release (``v4.5.6``) and at
the head of its stable branch (``MOODLE_405_STABLE``).  Building it hashes ~400 MB
per tree, so it is kept under the state folder, named after the trees' versions:
CI builds it once per run.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from filelock import FileLock

from moodle_regress.sandbox.codetree import CodeTree, inspect_tree

IDENTITY = {
    "GIT_AUTHOR_NAME": "moodle-regress tests",
    "GIT_AUTHOR_EMAIL": "tests@example.invalid",
    "GIT_COMMITTER_NAME": "moodle-regress tests",
    "GIT_COMMITTER_EMAIL": "tests@example.invalid",
}


def release_tag(tree: CodeTree) -> str:
    """ "5.0.6+ (Build: 20260403)" -> "v5.0.6", as Moodle tags its releases."""
    return "v" + tree.short_release.rstrip("+")


def stable_branch(tree: CodeTree) -> str:
    return f"MOODLE_{tree.branch}_STABLE"


def moodle_repository(home: Path, trees: list[Path]) -> Path:
    """The bare repository holding ``trees`` (oldest first), built once."""
    inspected = [inspect_tree(t) for t in trees]
    key = hashlib.sha256(
        "\n".join(f"{t.root}|{t.version}|{t.release}" for t in inspected).encode()
    ).hexdigest()[:12]
    target = home / "test-moodle-git" / f"moodle-{key}.git"
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not target.is_dir():
            staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            shutil.rmtree(staging, ignore_errors=True)
            try:
                _build(staging, inspected)
                staging.rename(target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    return target


def _build(repo: Path, trees: list[CodeTree]) -> None:
    _git(repo, "init", "--quiet", "--bare", str(repo), git_dir=False)
    # Serving a fetch re-packs these objects: skip the delta search, it costs minutes.
    _git(repo, "config", "pack.window", "0")
    _git(repo, "config", "core.looseCompression", "1")
    parent: list[str] = []
    for tree in trees:
        index = {"GIT_INDEX_FILE": str(repo / f"index-{tree.branch}")}
        work = {**index, "GIT_WORK_TREE": str(tree.root)}
        _git(repo, "add", "--all", "--force", ".", env=work, cwd=tree.root)
        tree_id = _git(repo, "write-tree", env=index)
        commit = _git(repo, "commit-tree", tree_id, *parent, "-m", f"Moodle {tree.release}")
        _git(repo, "update-ref", f"refs/tags/{release_tag(tree)}", commit)
        _git(repo, "update-ref", f"refs/heads/{stable_branch(tree)}", commit)
        (repo / f"index-{tree.branch}").unlink()
        parent = ["-p", commit]


def _git(
    repo: Path,
    *args: str,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    git_dir: bool = True,
) -> str:
    done = subprocess.run(
        ["git", *([f"--git-dir={repo}"] if git_dir else []), *args],
        env={**os.environ, **IDENTITY, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()
