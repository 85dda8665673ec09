"""Moodle code by version, from a bare git repository made here (file://, offline)."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from moodle_regress import cli as cli_module
from moodle_regress.cli import ToolError
from moodle_regress.config import Settings
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.errors import NotMoodleTreeError
from moodle_regress.sandbox.gitsource import (
    GitNotFoundError,
    MoodleGitSource,
    RepositoryUnreachableError,
    UnknownVersionError,
    candidate_refs,
    resolve_code,
)
from tests.unit.sandbox_fakes import make_tree

GIT_ENV = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@dataclass
class Origin:
    """A bare repository shaped like Moodle's: release tags and stable branches."""

    path: Path
    work: Path
    commits: dict[str, str]

    @property
    def url(self) -> str:
        return self.path.as_uri()

    def commit_on(self, branch: str, release: str) -> str:
        """A new commit on ``branch`` (a weekly build), pushed to the origin."""
        git("checkout", "-q", branch, cwd=self.work)
        version_php = self.work / "version.php"
        text = version_php.read_text()
        version_php.write_text(text.replace(text.split("'")[1], release, 1))
        git("commit", "-qam", release, cwd=self.work)
        git("push", "-q", "origin", branch, cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    work = tmp_path / "work"
    make_tree(work)
    git("init", "-q", "-b", "MOODLE_405_STABLE", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-qm", "4.5.6", cwd=work)
    git("tag", "v4.5.6", cwd=work)
    commits = {"4.5": git("rev-parse", "HEAD", cwd=work)}
    git("checkout", "-qb", "MOODLE_500_STABLE", cwd=work)
    for name in ("version.php", "admin/environment.xml"):
        path = work / name
        path.write_text(
            path.read_text()
            .replace("2024100706.00", "2025041406.00")
            .replace("4.5.6 (Build: 20250811)", "5.0.6 (Build: 20251006)")
            .replace("'405'", "'500'")
            .replace('"4.5"', '"5.0"')
        )
    git("commit", "-qam", "5.0.6", cwd=work)
    git("tag", "v5.0.6", cwd=work)
    commits["5.0"] = git("rev-parse", "HEAD", cwd=work)
    bare = tmp_path / "moodle.git"
    git("clone", "-q", "--bare", str(work), str(bare))
    git("remote", "add", "origin", str(bare), cwd=work)
    return Origin(bare, work, commits)


@pytest.fixture
def source(origin: Origin, tmp_path: Path) -> MoodleGitSource:
    return MoodleGitSource(tmp_path / "home", origin.url)


def test_versions_name_moodles_tags_and_stable_branches() -> None:
    assert candidate_refs("4.5") == ["refs/heads/MOODLE_405_STABLE"]
    assert candidate_refs("5.1") == ["refs/heads/MOODLE_501_STABLE"]
    assert candidate_refs("4.5.6") == ["refs/tags/v4.5.6"]
    assert candidate_refs("v4.5.6") == ["refs/tags/v4.5.6", "refs/heads/v4.5.6"]
    assert candidate_refs("MOODLE_405_STABLE")[1] == "refs/heads/MOODLE_405_STABLE"


@pytest.mark.parametrize("spec", ["4.5", "4.5.6", "v4.5.6", "MOODLE_405_STABLE"])
def test_each_way_of_naming_a_version_gives_its_tree(
    source: MoodleGitSource, origin: Origin, spec: str
) -> None:
    exported = source.tree(spec)
    assert exported.commit == origin.commits["4.5"]
    assert inspect_tree(exported.path).release == "4.5.6 (Build: 20250811)"
    assert exported.path.parent == source.exports
    assert exported.exported


def test_a_commit_by_its_full_hash_then_by_a_short_one(
    source: MoodleGitSource, origin: Origin
) -> None:
    commit = origin.commits["5.0"]
    assert inspect_tree(source.tree(commit).path).branch == "500"
    again = source.tree(commit[:10])  # now in the clone
    assert again.commit == commit and not again.exported


def test_a_second_run_reuses_the_export_without_asking_the_repository(
    source: MoodleGitSource, origin: Origin, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = source.tree("v5.0.6")
    marker = first.path / "version.php"
    inode = marker.stat().st_ino
    calls: list[tuple[str, ...]] = []
    real = MoodleGitSource._git

    def counting(self: MoodleGitSource, *args: str, **kwargs: object) -> object:
        calls.append(args)
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MoodleGitSource, "_git", counting)
    second = MoodleGitSource(source.repo.parent.parent, origin.url).tree("v5.0.6")
    assert second.path == first.path and not second.exported
    assert marker.stat().st_ino == inode
    assert not [c for c in calls if c[0] in {"fetch", "ls-remote", "read-tree", "checkout-index"}]
    assert "reused" in second.describe()


def test_a_tag_and_a_branch_at_one_commit_share_one_export(source: MoodleGitSource) -> None:
    tag = source.tree("v4.5.6")
    branch = source.tree("MOODLE_405_STABLE")
    assert branch.path == tag.path and not branch.exported


def test_a_branch_that_moved_is_fetched_and_exported_anew(
    source: MoodleGitSource, origin: Origin
) -> None:
    before = source.tree("4.5")
    newer = origin.commit_on("MOODLE_405_STABLE", "4.5.7+ (Build: 20251101)")
    after = source.tree("4.5")
    assert after.commit == newer != before.commit
    assert inspect_tree(after.path).release == "4.5.7+ (Build: 20251101)"
    assert inspect_tree(before.path).release == "4.5.6 (Build: 20250811)"  # untouched


def test_an_unknown_version_names_close_ones_and_the_fix(source: MoodleGitSource) -> None:
    with pytest.raises(UnknownVersionError) as raised:
        source.tree("4.5.9")
    text = str(raised.value)
    assert "no Moodle version '4.5.9'" in text and "refs/tags/v4.5.9" in text
    assert "v4.5.6" in text  # a close name
    assert "fix:" in text and "MOODLE_405_STABLE" in text
    with pytest.raises(UnknownVersionError, match="full 40-character"):
        source.tree("abcdef1")
    with pytest.raises(UnknownVersionError, match="has no commit"):
        source.tree("ab" * 20)


def test_an_unreachable_repository_is_a_typed_error_with_the_fix(tmp_path: Path) -> None:
    missing = MoodleGitSource(tmp_path / "home", (tmp_path / "nowhere.git").as_uri())
    with pytest.raises(RepositoryUnreachableError) as raised:
        missing.tree("4.5")
    assert "cannot reach the Moodle repository" in str(raised.value)
    assert "[moodle] git" in str(raised.value)


def test_fetched_tags_and_branches_serve_when_the_repository_is_gone(
    source: MoodleGitSource, origin: Origin
) -> None:
    source.tree("v4.5.6")
    source.tree("MOODLE_500_STABLE")
    origin.path.rename(origin.path.with_name("moved.git"))
    assert source.tree("v4.5.6").commit == origin.commits["4.5"]
    branch = source.tree("MOODLE_500_STABLE")
    assert branch.commit == origin.commits["5.0"]
    assert branch.note is not None and "as fetched earlier" in branch.note


def test_no_git_installed_is_a_typed_error(
    source: MoodleGitSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(GitNotFoundError, match="apt-get install git"):
        source.tree("4.5")


def test_an_interrupted_export_never_looks_complete(
    source: MoodleGitSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = MoodleGitSource._git

    def interrupted(self: MoodleGitSource, *args: str, **kwargs: object) -> object:
        if args[0] == "checkout-index":
            real(self, *args, **kwargs)  # type: ignore[arg-type]
            raise KeyboardInterrupt  # after the files were written, before the rename
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MoodleGitSource, "_git", interrupted)
    with pytest.raises(KeyboardInterrupt):
        source.tree("v4.5.6")
    assert [p.name for p in source.exports.iterdir() if not p.name.endswith(".lock")] == []
    monkeypatch.undo()
    assert source.tree("v4.5.6").exported  # the next run exports it whole


def test_a_folder_stays_a_folder_and_a_version_comes_from_the_settings_repository(
    origin: Origin, tmp_path: Path
) -> None:
    settings = Settings(home=tmp_path / "home", config_file=tmp_path / "c.toml")
    folder = tmp_path / "tree"
    make_tree(folder)
    assert resolve_code(folder, settings) == folder
    settings = Settings(
        home=tmp_path / "home", config_file=tmp_path / "c.toml", moodle_git=origin.url
    )
    seen: list[str] = []
    path = resolve_code("v5.0.6", settings, report=lambda t: seen.append(t.describe()))
    assert inspect_tree(path).branch == "500"
    assert seen and "exported" in seen[0]
    with pytest.raises(NotMoodleTreeError, match="no such folder"):
        resolve_code(str(tmp_path / "absent"), settings)


def test_the_command_refuses_an_unknown_version_in_one_line(
    origin: Origin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MOODLE_REGRESS_MOODLE_GIT", origin.url)
    monkeypatch.setenv("MOODLE_REGRESS_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setattr(
        "sys.argv",
        ["moodle-regress", "rehearse", "--from", "v4.5.6", "--to", "v9.9.9", "--out", "x"],
    )
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "no Moodle version 'v9.9.9'" in err
    assert "Traceback" not in err


def test_preflight_takes_versions_too(
    origin: Origin,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MOODLE_REGRESS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MOODLE_REGRESS_MOODLE_GIT", origin.url)
    monkeypatch.setenv("MOODLE_REGRESS_CONFIG", str(tmp_path / "none.toml"))
    seen: list[tuple[Path, Path]] = []

    def preflight_code(code: Path, target: Path, **_: object) -> None:
        seen.append((code, target))
        raise ToolError("the trees were resolved")  # the check itself is tested elsewhere

    monkeypatch.setattr("moodle_regress.cli.preflight.preflight_code", preflight_code)
    monkeypatch.setattr(
        "sys.argv", ["moodle-regress", "preflight", "--code", "4.5.6", "--to", "MOODLE_500_STABLE"]
    )
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    err = capsys.readouterr().err
    assert exited.value.code == 2
    assert "error: the trees were resolved" in err
    home = tmp_path / "home" / "moodle-code"
    assert seen == [(home / origin.commits["4.5"], home / origin.commits["5.0"])]
    assert "Moodle 4.5.6 (v4.5.6 " in err and "Moodle MOODLE_500_STABLE (" in err
