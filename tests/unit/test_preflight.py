"""Preflight rules on tiny code trees written here (not Moodle's code): version.php files
read the way Moodle's plugin manager reads them, direction, plugin fates, Moodle's own
uninstall steps, environment.xml evaluated here.  Against real trees and sites: the
live tests."""

from __future__ import annotations

import json
import shutil
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from moodle_regress import cli as cli_module
from moodle_regress.compare import compare
from moodle_regress.observation import Normaliser
from moodle_regress.observe.plugins import observe as observe_plugins
from moodle_regress.phprun import PhpFacts
from moodle_regress.preflight import (
    Check,
    PluginFate,
    PreflightBlocked,
    PreflightError,
    PreflightReport,
    preflight_code,
    preflight_html,
    preflight_site,
)
from moodle_regress.preflight.checks import SitePlugin, describe_usage, plugin_fates
from moodle_regress.preflight.environment import checks_from_moodle, evaluate_xml
from moodle_regress.preflight.model import Side
from moodle_regress.preflight.removals import core_removals, uninstall_calls
from moodle_regress.preflight.run import site_plugins
from moodle_regress.preflight.stage import expected_rules
from moodle_regress.preflight.trees import TreeVersions, read_versions
from moodle_regress.rehearsal import RehearsalOptions, rehearse
from moodle_regress.report.html import render_html
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.moodle import _PART, fatal_error
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import Snapshot, SnapshotMeta
from tests.unit.sandbox_fakes import make_tree

needs_php = pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")

UPGRADE_PHP = """<?php
function xmldb_main_upgrade($oldversion) {
    if ($oldversion < 2025030500.00) {
        if (!file_exists($CFG->dirroot . "/auth/cas/version.php")) {
            uninstall_plugin('auth', 'cas');
        }
    }
    if ($oldversion < 2025030500.01) {
        foreach ($plugins as $pluginname) {
            uninstall_plugin('atto', $pluginname);
        }
        uninstall_plugin('editor', 'atto');
    }
    if ($oldversion < 2025040100.01) {
        uninstall_plugin('mod', 'chat');
    }
}
"""


def _plugin(root: Path, path: str, body: str) -> None:
    folder = root / path
    folder.mkdir(parents=True, exist_ok=True)
    text = "<?php\ndefined('MOODLE_INTERNAL') || die();\n" + textwrap.dedent(body)
    (folder / "version.php").write_text(text)


def _trees(tmp_path: Path, *, forum_target: str = "2025041400") -> tuple[Path, Path]:
    source = make_tree(tmp_path / "a")
    target = make_tree(
        tmp_path / "b",
        version="2025041400.00",
        release="5.0 (Build: 1)",
        branch="500",
        requires="4.2.3",
    )
    for root, forum in ((source, "2024100700"), (target, forum_target)):
        _plugin(
            root, "mod/forum", f"$plugin->version = {forum};\n$plugin->requires = 2024100100;\n"
        )
        _plugin(root, "mod/assign", "$module->version = 2024100700;\n$module->release = '1.0';\n")
        _plugin(root, "theme/boost", "$plugin->version = 2024100700;\n")
        _plugin(root, "mod/assign/submission/file", "$plugin->version = 2024100700;\n")
    _plugin(source, "theme/moove", "$plugin->version = 2024100801;\n$plugin->release = '4.5.1';\n")
    (target / "lib" / "db").mkdir(parents=True)
    (target / "lib" / "db" / "upgrade.php").write_text(UPGRADE_PHP)
    return source, target


@needs_php
def test_version_php_files_are_read_as_moodle_reads_them(tmp_path: Path) -> None:
    source, _ = _trees(tmp_path)
    _plugin(
        source,
        "theme/boost",
        """\
        $plugin->version = 2024100700;
        $plugin->maturity = MATURITY_BETA;
        $plugin->incompatible = 500;
        $plugin->dependencies = ['mod_forum' => ANY_VERSION, 'mod_assign' => 2024100700];
        """,
    )
    versions = read_versions(inspect_tree(source))
    boost = versions.plugins["theme_boost"]
    assert (boost.version, boost.maturity, boost.incompatible) == ("2024100700", 100, 500)
    assert dict(boost.dependencies) == {"mod_forum": "any", "mod_assign": "2024100700"}
    # Old modules fill $module, the same object.
    assert versions.plugins["mod_assign"].release == "1.0"
    assert set(versions.plugins) == {
        "mod_forum",
        "mod_assign",
        "theme_boost",
        "theme_moove",
        "assignsubmission_file",
    }


def test_uninstall_steps_count_only_for_sites_older_than_the_step(tmp_path: Path) -> None:
    path = tmp_path / "upgrade.php"
    path.write_text(UPGRADE_PHP)
    calls = uninstall_calls(path)
    assert ("atto", None) in [(t, n) for _, t, n in calls]
    _, target = _trees(tmp_path)
    tree = inspect_tree(target)
    old = core_removals(tree, Decimal("2024100706"))
    assert set(old.uninstalled) == {"auth_cas", "editor_atto", "mod_chat"}
    assert old.removes("atto_bold") and old.removes("mod_chat")
    newer = core_removals(tree, Decimal("2025030500.01"))
    assert set(newer.uninstalled) == {"mod_chat"} and not newer.removes("atto_bold")


@needs_php
def test_a_downgrade_is_a_blocker_and_nothing_else_is_checked(tmp_path: Path) -> None:
    source, target = _trees(tmp_path)
    report = preflight_code(target, source)
    assert [c.title for c in report.blockers] == ["downgrade"]
    assert report.plugins == []
    with pytest.raises(PreflightBlocked, match="downgrade") as info:
        report.raise_if_blocked()
    assert "--force" in (info.value.fix or "")


@needs_php
def test_fresh_upgrade_lists_what_goes_and_what_is_upgraded(tmp_path: Path) -> None:
    source, target = _trees(tmp_path)
    report = preflight_code(source, target)
    fates = {p.component: p.fate for p in report.plugins}
    assert fates["theme_moove"] == "missing"
    assert fates["mod_forum"] == "upgraded" and fates["mod_assign"] == "kept"
    assert not report.blockers
    moove = next(c for c in report.checks if c.component == "theme_moove")
    assert moove.verdict == "warning" and "4.5.1" in moove.cause


@needs_php
def test_a_plugin_older_in_the_target_is_refused_with_the_way_out(tmp_path: Path) -> None:
    source, target = _trees(tmp_path, forum_target="2024010100")
    report = preflight_code(source, target)
    (blocker,) = report.blockers
    assert blocker.component == "mod_forum" and "refuses to downgrade" in blocker.cause
    assert "--without-plugin mod_forum" in blocker.fix


@needs_php
def test_requires_incompatible_and_dependencies_of_target_plugins(tmp_path: Path) -> None:
    source, target = _trees(tmp_path)
    _plugin(
        target,
        "theme/new",
        """\
        $plugin->version = 2025010100;
        $plugin->requires = 2026010100;
        $plugin->incompatible = 500;
        $plugin->dependencies = ['local_absent' => ANY_VERSION, 'mod_forum' => 2030010100];
        """,
    )
    report = preflight_code(source, target)
    titles = sorted(c.title for c in report.blockers if c.component == "theme_new")
    assert titles == ["dependency", "dependency", "incompatible", "needs a newer Moodle"]
    assert {p.component: p.fate for p in report.plugins}["theme_new"] == "refused"


def test_plugins_without_code_are_uninstalled_or_left_missing(tmp_path: Path) -> None:
    _, target = _trees(tmp_path)
    tree = inspect_tree(target)
    versions = TreeVersions(tree=tree, maturity=200, plugins={})
    site = {
        "mod_chat": SitePlugin("mod_chat", "2024100700", usage={"activities": {"C1": 2, "C2": 1}}),
        "atto_bold": SitePlugin("atto_bold", "2024100700", parent="editor_atto"),
        "local_x": SitePlugin("local_x", "2023010100", "1.2", usage={"settings": 3}),
    }
    fates, checks = plugin_fates(site, versions, core_removals(tree, Decimal("2024100706")))
    by_name = {f.component: f for f in fates}
    assert by_name["mod_chat"].fate == "uninstalled" and by_name["mod_chat"].removed_activities == 3
    assert by_name["atto_bold"].group == "atto"
    assert by_name["local_x"].fate == "missing"
    chat = next(c for c in checks if c.component == "mod_chat")
    assert "3 activities in 2 courses" in chat.cause
    assert (
        describe_usage({"activities": {"C1": 1}}) == "1 activity in 1 course"
        and "its data goes" in chat.cause
    )
    assert any(c.component == "atto_*" for c in checks)


def test_usage_is_described_in_words() -> None:
    assert describe_usage({"users": 4, "site_theme": True, "settings": 2}) == (
        "4 users, it is the site's theme, 2 settings"
    )
    assert describe_usage({}) == ""


def test_environment_xml_is_evaluated_against_this_php(tmp_path: Path) -> None:
    _, target = _trees(tmp_path)
    tree = inspect_tree(target)
    php = PhpFacts(Path("php"), "8.2.7", frozenset({"iconv"}), {})
    checks = evaluate_xml(tree, source_release="4.5.6", engine="postgres", php=php)
    by_title = {c.title: c for c in checks}
    assert by_title["PHP extension intl"].verdict == "blocker"
    assert by_title["PHP extension soap"].verdict == "warning"
    assert by_title["upgrade path"].verdict == "ok"
    old = evaluate_xml(tree, source_release="4.1.0", engine="mariadb", php=php)
    by_title = {c.title: c for c in old}
    assert by_title["upgrade path"].verdict == "blocker"
    assert "4.2.3" in by_title["upgrade path"].fix
    assert by_title["database"].verdict == "blocker"  # the fake target names postgres only


def _main(monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    monkeypatch.setattr("sys.argv", ["moodle-regress", *args])
    with pytest.raises(SystemExit) as exited:
        cli_module.main()
    return int(exited.value.code or 0)


def test_cli_needs_a_site_or_a_code_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, target = _trees(tmp_path)
    assert _main(monkeypatch, "preflight", "--to", str(target)) == 2
    assert "give --site" in capsys.readouterr().err


@needs_php
def test_cli_exits_2_on_a_blocker_unless_forced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source, target = _trees(tmp_path)
    out = tmp_path / "p.json"
    args = ["preflight", "--code", str(target), "--to", str(source), "--json", str(out)]
    assert _main(monkeypatch, *args) == 2
    assert "error: preflight: downgrade" in capsys.readouterr().err
    assert json.loads(out.read_text())["verdict"] == "blocker"
    assert _main(monkeypatch, *args, "--force") == 0


RECORDED = Path(__file__).parents[1] / "fixtures" / "preflight" / "site_plugins-4.5.6-to-5.0.6.json"


def test_a_recorded_site_answer_gives_the_installed_plugins_and_their_data() -> None:
    data = json.loads(RECORDED.read_text())
    installed = site_plugins(data)
    assert installed["mod_chat"].usage["activities"] == {"mr-pf-removed": 2}
    assert installed["atto_bold"].parent == "editor_atto"
    assert installed["theme_moove"].release == "4.5.1"
    assert all(p.version is not None for p in installed.values())


def test_moodles_environment_results_become_checks() -> None:
    results = json.loads(RECORDED.read_text())["environment"]["results"]
    checks = checks_from_moodle(results)
    https = next(c for c in checks if "https" in c.title)
    assert https.verdict == "warning" and "HTTPS" in https.fix  # optional: a warning
    assert checks[-1].verdict == "ok"
    failing = [{**results[0], "status": False, "level": "required", "needed": "99"}]
    (blocker,) = checks_from_moodle(failing)
    assert blocker.verdict == "blocker" and "needs 99" in blocker.cause


def test_moodles_fatal_error_and_the_failing_part_are_read_from_its_output() -> None:
    output = (RECORDED.parent / "upgrade-fails-4.5.6.log").read_text()
    message, debuginfo = fatal_error(output) or ("", None)
    assert message == "The moodle-regress test plugin refuses to install"
    assert debuginfo and "throws in its install step" in debuginfo and "Stack" not in debuginfo
    assert _PART.findall(output)[-1] == "local_preflightboom"
    assert fatal_error("all went well\n") is None


def test_the_plugins_area_observes_installed_plugins_only() -> None:
    data = json.loads(RECORDED.read_text())
    seen: dict[str, object] = {}

    class Out:
        def add(self, key: str, value: object, *, ordered: bool = False) -> None:
            seen[key] = value

    # Code on disk without a database version (a site not yet upgraded to it).
    data["plugins"].append({**data["plugins"][0], "component": "local_new", "versiondb": None})
    observe_plugins(data, Out())
    assert seen["plugins/mod_chat/enabled"] is False
    assert seen["plugins/mod_forum/status"] == "uptodate"
    assert seen["plugins/theme_moove/release"] == "4.5.1"
    assert not any(k.startswith("plugins/local_new/") for k in seen)


class _NoSandboxes:
    """A sandbox manager the rehearsal must not use."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"the rehearsal touched sandboxes ({name}) despite a blocker")


@needs_php
def test_a_rehearsal_stops_at_a_blocker_before_any_sandbox(tmp_path: Path) -> None:
    source, target = _trees(tmp_path)
    options = RehearsalOptions(code_from=target, code_to=source, out=tmp_path / "out")
    result = rehearse(options, manager=_NoSandboxes(), live=False)  # type: ignore[arg-type]
    assert result.exit_code == 2 and result.error and "downgrade" in result.error
    statuses = {s.name: s.status for s in result.stages}
    assert statuses["preflight"] == "failed" and statuses["up"] == "skipped"
    assert json.loads((tmp_path / "out" / "preflight.json").read_text())["verdict"] == "blocker"
    assert json.loads((tmp_path / "out" / "rehearsal.json").read_text())["preflight"]


@needs_php
def test_same_release_is_a_warning_and_without_plugin_names_must_exist(tmp_path: Path) -> None:
    source, _ = _trees(tmp_path)
    same = preflight_code(source, source)
    assert [c.title for c in same.warnings if c.area == "direction"] == ["same release"]
    with pytest.raises(PreflightError, match="--without-plugin local_nope"):
        preflight_code(source, source, without=["local_nope"])
    left_out = preflight_code(source, source, without=["theme_moove"])
    assert {p.component: p.fate for p in left_out.plugins}["theme_moove"] == "missing"
    assert any("--without-plugin" in note for note in left_out.notes)


def test_what_the_preflight_foretold_is_expected_with_its_finding_as_reason() -> None:
    side = Side("a", "4.5.6", "2024100706", "405")
    report = PreflightReport(source=side, target=side)
    report.plugins = [
        PluginFate("mod_chat", "uninstalled"),
        PluginFate("atto_bold", "uninstalled", group="atto"),
        PluginFate("theme_moove", "missing"),
        PluginFate("mod_forum", "upgraded"),
    ]
    report.checks = [
        Check(
            "plugins",
            "removed by Moodle",
            "warning",
            "Moodle 5.0 uninstalls mod_chat",
            "",
            "mod_chat",
        ),
        Check("plugins", "removed by Moodle", "warning", "every atto plugin goes", "", "atto_*"),
    ]
    normaliser = Normaliser()

    def snap(values: dict[str, object]) -> Snapshot:
        return Snapshot(SnapshotMeta(), [normaliser.observation(k, v) for k, v in values.items()])

    before = snap(
        {
            "plugins/mod_chat/version": "1",
            "plugins/atto_bold/version": "1",
            "plugins/theme_moove/status": "uptodate",
            "plugins/mod_forum/enabled": True,
        }
    )
    after = snap({"plugins/theme_moove/status": "missing", "plugins/mod_forum/enabled": False})
    comparison = expected_rules(report).apply(compare(before, after))
    found = {d.key: d for d in comparison.differences}
    assert found["plugins/mod_chat/version"].expected
    assert found["plugins/mod_chat/version"].reason == (
        "foretold by the preflight: Moodle 5.0 uninstalls mod_chat"
    )
    assert "every atto plugin" in (found["plugins/atto_bold/version"].reason or "")
    assert found["plugins/theme_moove/status"].expected
    assert not found["plugins/mod_forum/enabled"].expected  # nothing foretold that


def test_a_remote_site_is_refused_with_the_way_out(tmp_path: Path) -> None:
    _, target = _trees(tmp_path)
    remote = SiteDescriptor(name="staging", url="https://moodle.example.org", token="t" * 32)
    with pytest.raises(PreflightError, match="not on this machine") as info:
        preflight_site(remote, target)
    assert "sandbox" in (info.value.fix or "")


def test_the_preflight_section_sits_atop_the_reports_main_part(tmp_path: Path) -> None:
    side = Side("a", "4.5.6 (Build: 1)", "2024100706", "405")
    report = PreflightReport(source=side, target=side)
    report.plugins = [PluginFate("mod_chat", "uninstalled", usage={"activities": {"C1": 2}})]
    empty = compare(Snapshot(SnapshotMeta()), Snapshot(SnapshotMeta()))
    page = render_html(empty, preface=preflight_html(report))
    main = page.index("<main>")
    assert main < page.index("id='preflight'") < page.index("class='filters'")
    assert "mod_chat" in page and "C1: 2" in page and "2 activities in 1 course" in page
