"""Bad input on the command line: broken files and options.

Each case: exit status 2, one line starting ``error:`` that names the cause (and the
fix), no traceback, no secret, and nothing written or sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from moodle_regress.observation import Observation
from moodle_regress.seeding import PlanError, generate, parse_plan
from moodle_regress.seeding.tags import TagError, check_tag
from moodle_regress.snapshot import Snapshot, SnapshotMeta
from tests.reliability.conftest import TOKEN, RunCli, assert_typed
from tests.reliability.fakesite import FakeSite, recorded


@pytest.fixture(autouse=True)
def _own_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A state folder and config file of the test's own (no real sandbox is touched)."""
    monkeypatch.setenv("MOODLE_REGRESS_HOME", str(tmp_path / "home"))
    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("MOODLE_REGRESS_CONFIG", str(config))
    for name in [n for n in __import__("os").environ if n.startswith("MOODLE_REGRESS_CODE_")]:
        monkeypatch.delenv(name)
    yield


def _site_file(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "site.json"
    path.write_text(json.dumps({"name": "fake", "url": url, "token": TOKEN}))
    return path


def _snapshot(path: Path, *values: tuple[str, object]) -> Path:
    meta = SnapshotMeta(site_name="s", site_url="http://127.0.0.1:1", release="4.5.6")
    Snapshot(meta, [Observation(key, value) for key, value in values]).save(path)
    return path


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


# --- the config file --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[code_trees\n"4.5" = "/x"\n', "not valid TOML"),
        ("code_trees = 5\n", "[code_trees] must be a table"),
        ("[sites.staging]\ntoken_env = 'X'\n", "[sites.staging] needs a url"),
        ("sites = 'x'\n", "[sites] must hold one table per site"),
    ],
    ids=["not TOML", "code_trees not a table", "site without url", "sites not a table"],
)
def test_a_broken_config_file(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch, text: str, fragment: str
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text(text)
    monkeypatch.setenv("MOODLE_REGRESS_CONFIG", str(config))
    run = run_cli("sandbox", "list")
    run.assert_error(str(config), fragment)


def test_a_broken_config_file_stops_a_rehearsal_before_any_sandbox(
    tmp_path: Path, run_cli: RunCli, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "broken.toml"
    config.write_text("[code_trees\n")
    monkeypatch.setenv("MOODLE_REGRESS_CONFIG", str(config))
    tree = tmp_path / "tree"
    tree.mkdir()
    run = run_cli("rehearse", "--from", str(tree), "--to", str(tree), "--out", str(tmp_path / "o"))
    run.assert_error("not valid TOML")
    assert not (tmp_path / "home").exists()


# --- expected-changes files ---------------------------------------------------------------

BAD_EXPECTED = {
    "bad regex": (
        'expected:\n  - key: "users/*"\n    reason: r\n    after: {regex: "(x"}\n',
        "is not a regular expression",
    ),
    "unknown field": ("expected:\n  - key: a\n    reason: r\n    becuase: x\n", "unknown field"),
    "no reason": ("expected:\n  - key: a\n", "reason"),
    "not YAML": ("expected: [\n", "expected.yaml"),
    "wrong version": ("version: 7\nexpected: []\n", "version 1"),
}


@pytest.mark.parametrize(("text", "fragment"), BAD_EXPECTED.values(), ids=BAD_EXPECTED.keys())
def test_a_broken_expected_file_in_diff(
    tmp_path: Path, run_cli: RunCli, text: str, fragment: str
) -> None:
    rules = tmp_path / "expected.yaml"
    rules.write_text(text)
    a = _snapshot(tmp_path / "a.json", ("site/@site/theme", "boost"))
    run = run_cli(
        "diff", str(a), str(a), "--expected", str(rules), "--html", str(tmp_path / "r.html")
    )
    run.assert_error(fragment)
    assert not (tmp_path / "r.html").exists()


def test_a_bad_regex_stops_a_rehearsal_before_any_sandbox(tmp_path: Path, run_cli: RunCli) -> None:
    rules = tmp_path / "expected.yaml"
    rules.write_text(BAD_EXPECTED["bad regex"][0])
    tree = tmp_path / "tree"
    tree.mkdir()
    run = run_cli(
        "rehearse", "--from", str(tree), "--to", str(tree), "--out", str(tmp_path / "o"),
        "--expected", str(rules),
    )  # fmt: skip
    run.assert_error("is not a regular expression")
    assert not (tmp_path / "home").exists()


# --- snapshots and reports ------------------------------------------------------------------


def test_diff_refuses_a_snapshot_with_a_duplicated_key(tmp_path: Path, run_cli: RunCli) -> None:
    good = _snapshot(tmp_path / "a.json", ("site/@site/theme", "boost"), ("site/@site/lang", "en"))
    data = json.loads(good.read_text())
    data["observations"].append({**data["observations"][0], "value": "classic"})
    twice = tmp_path / "b.json"
    twice.write_text(json.dumps(data))
    run = run_cli("diff", str(good), str(twice), "--json", str(tmp_path / "r.json"))
    run.assert_error("appears twice", "take the snapshot again")
    assert not (tmp_path / "r.json").exists()


@pytest.mark.parametrize("text", ["{", '{"observations": []}', '{"schema_version": "9.0"}'])
def test_diff_refuses_what_is_no_snapshot(tmp_path: Path, run_cli: RunCli, text: str) -> None:
    good = _snapshot(tmp_path / "a.json", ("site/@site/theme", "boost"))
    bad = tmp_path / "b.json"
    bad.write_text(text)
    run_cli("diff", str(good), str(bad)).assert_error("b.json")


def test_diff_of_a_missing_snapshot(tmp_path: Path, run_cli: RunCli) -> None:
    good = _snapshot(tmp_path / "a.json", ("site/@site/theme", "boost"))
    run_cli("diff", str(good), str(tmp_path / "none.json")).assert_error("no snapshot at")


def test_diff_html_into_an_unwritable_place_writes_nothing(tmp_path: Path, run_cli: RunCli) -> None:
    a = _snapshot(tmp_path / "a.json", ("site/@site/theme", "boost"))
    b = _snapshot(tmp_path / "b.json", ("site/@site/theme", "classic"))
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    out = tmp_path / "out"
    out.mkdir()
    before = _files(tmp_path)
    run = run_cli(
        "diff", str(a), str(b), "--json", str(out / "r.json"), "--html",
        str(blocker / "r.html"),
    )  # fmt: skip
    run.assert_error("cannot write", "r.html", "choose a place you can write to")
    assert _files(tmp_path) == before


def test_diff_html_onto_a_folder_writes_nothing(tmp_path: Path, run_cli: RunCli) -> None:
    a = _snapshot(tmp_path / "a.json", ("site/@site/theme", "boost"))
    (tmp_path / "r.html").mkdir()
    before = _files(tmp_path)
    run = run_cli(
        "diff",
        str(a),
        str(a),
        "--json",
        str(tmp_path / "r.json"),
        "--html",
        str(tmp_path / "r.html"),
    )
    run.assert_error("r.html", "is a directory")
    assert _files(tmp_path) == before


# --- plans and tags -----------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["BAD TAG", "a-b", "", "x" * 13, "Qa"])
def test_a_bad_run_tag_is_refused(tag: str) -> None:
    with pytest.raises(TagError) as caught:
        check_tag(tag)
    assert_typed(caught.value, TagError, "a-z and 0-9 only")


@pytest.mark.parametrize("command", ["seed", "cleanup"])
def test_seed_and_cleanup_refuse_a_bad_tag_before_sending_anything(
    tmp_path: Path, run_cli: RunCli, make_site: type[FakeSite], command: str
) -> None:
    site = make_site(recorded("4.5", "typed", "site_info"))
    run = run_cli(command, "--site", str(_site_file(tmp_path, site.url)), "--tag", "BAD TAG")
    run.assert_error("run tag 'BAD TAG' is not valid")
    assert site.requests == []


def test_snapshot_refuses_a_bad_tag(tmp_path: Path, run_cli: RunCli) -> None:
    run = run_cli(
        "snapshot", "--site", "nowhere", "--out", str(tmp_path / "s.json"), "--tag", "a-b"
    )
    run.assert_error("run tag 'a-b' is not valid")


PLAN_HEAD = "tag: t1\ncategories:\n  - {name: Cat, idnumber: cat}\n"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("tag: [\n", "(YAML)"),
        ("tag: BAD TAG\n", "a tag is 1-12 lower case letters or digits"),
        ("courses:\n  - {shortname: c1, formt: topics}\n", "formt"),
        ("users:\n  - {username: u1}\n  - {username: u1}\n", "appears twice"),
        ("generate:\n  users: {count: -1}\n", "count"),
    ],
    ids=["not YAML", "bad tag", "misspelt field", "duplicate user", "negative count"],
)
def test_a_broken_plan_is_refused_before_sending_anything(
    tmp_path: Path, run_cli: RunCli, make_site: type[FakeSite], text: str, fragment: str
) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(text)
    site = make_site(recorded("4.5", "typed", "site_info"))
    run = run_cli("seed", "--site", str(_site_file(tmp_path, site.url)), "--plan", str(plan))
    run.assert_error("plan.yaml", fragment)
    assert site.requests == []


def test_a_missing_plan_file(tmp_path: Path, run_cli: RunCli) -> None:
    run = run_cli("seed", "--site", "nowhere", "--plan", str(tmp_path / "none.yaml"))
    run.assert_error("none.yaml")


def test_a_course_format_that_is_not_installed_is_refused_with_its_line() -> None:
    plan = parse_plan(
        PLAN_HEAD + "courses:\n  - {shortname: c1, category: cat, format: topcs}\n", "plan.yaml"
    )
    with pytest.raises(PlanError) as caught:
        generate(plan, installed_formats=["topics", "weeks", "singleactivity", "social"])
    assert "plan.yaml:5: courses[0].format" in str(caught.value)
    assert "'topcs' is not installed" in str(caught.value)


def test_a_generated_format_that_is_not_installed_is_refused() -> None:
    plan = parse_plan(
        PLAN_HEAD + "generate:\n  courses:\n    count: 2\n    category: cat\n"
        "    formats: [topics, tiles]\n",
        "plan.yaml",
    )
    with pytest.raises(PlanError) as caught:
        generate(plan, installed_formats=["topics", "weeks", "singleactivity", "social"])
    assert "generate.courses[0].formats" in str(caught.value)
    assert "'tiles' is not installed" in str(caught.value)


# --- sites --------------------------------------------------------------------------------


def test_a_site_that_is_nothing_known(run_cli: RunCli, tmp_path: Path) -> None:
    run = run_cli("snapshot", "--site", "no-such-thing", "--out", str(tmp_path / "s.json"))
    run.assert_error("'no-such-thing' is not a descriptor file, a sandbox")
    assert not (tmp_path / "s.json").exists()


def test_a_site_url_without_a_token(
    run_cli: RunCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MOODLE_REGRESS_TOKEN", raising=False)
    run = run_cli("snapshot", "--site", "http://127.0.0.1:9", "--out", str(tmp_path / "s.json"))
    run.assert_error("MOODLE_REGRESS_TOKEN")


# --- rehearse --from-sandbox ----------------------------------------------------------------


def _imported_sandbox(tmp_path: Path, name: str, engine: str) -> None:
    """The state file of a sandbox, as ``sandbox import`` leaves it (nothing runs)."""
    from moodle_regress.config import load_settings
    from moodle_regress.sandbox.db.base import DatabaseConfig
    from moodle_regress.sandbox.manager import SandboxManager, SandboxState

    box = SandboxManager(load_settings(), quiet=True).sandbox(name)
    box.root.mkdir(parents=True)
    box.save_state(
        SandboxState(
            name=name, code_source=tmp_path / "tree", release="4.5.6", version="2024100706",
            branch="405", layout="classic", http_port=1, private_db=True,
            db=DatabaseConfig(engine=engine, port=2, password="db-secret-1"),
            admin_password="admin-secret-1", created="2026-12-04T00:00:00+00:00",
        )
    )  # fmt: skip


@pytest.mark.parametrize(
    "args",
    [["--from", "tree", "--from-sandbox", "copy"], []],
    ids=["both", "neither"],
)
def test_rehearse_needs_exactly_one_site_a(
    tmp_path: Path, run_cli: RunCli, args: list[str]
) -> None:
    out = tmp_path / "o"
    run = run_cli("rehearse", *args, "--to", str(tmp_path), "--out", str(out))
    run.assert_error("give either --from", "--from-sandbox")
    assert not out.exists()


def test_rehearse_from_a_sandbox_that_does_not_exist(tmp_path: Path, run_cli: RunCli) -> None:
    out = tmp_path / "o"
    run = run_cli("rehearse", "--from-sandbox", "nowhere", "--to", str(tmp_path), "--out", str(out))
    run.assert_error("nowhere")
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--suites", "apis"], ("choose from api, browser", "or none")),
        (["--db", "postgres"], ("--db postgres", "runs on mariadb", "leave --db out")),
    ],
    ids=["an unknown suite", "another engine"],
)
def test_rehearse_from_a_sandbox_refuses_options_that_do_not_fit(
    tmp_path: Path, run_cli: RunCli, args: list[str], fragments: tuple[str, ...]
) -> None:
    _imported_sandbox(tmp_path, "copy", "mariadb")
    out = tmp_path / "o"
    run = run_cli(
        "rehearse", "--from-sandbox", "copy", "--to", str(tmp_path), "--out", str(out), *args
    )
    run.assert_error(*fragments)
    assert not out.exists()
