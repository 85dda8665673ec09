"""The one plugin finder: a local tree's plugins by type; probing a remote site
(answers recorded from a real Moodle 4.5 site)."""

from __future__ import annotations

import json
from pathlib import Path

from moodle_regress.plugins import (
    CORE_FORMATS,
    display_name,
    installed_formats,
    probe_plugins,
    tree_plugins,
    with_core_first,
)
from moodle_ws import MoodleClient
from moodle_ws.testing import PLACEHOLDER_URL, ReplayTransport
from tests.unit.sandbox_fakes import make_tree

RECORDING = Path(__file__).parents[2] / "fixtures" / "recordings" / "4.5" / "observe-api.json"


def _client() -> MoodleClient:
    return MoodleClient(
        PLACEHOLDER_URL, "replayed-token", transport=ReplayTransport(RECORDING, ordered=False)
    )


def test_a_trees_plugins_by_type_with_subplugins(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "m", public=True, branch="501")
    assert tree_plugins(root) == {
        "assignsubmission": ["file"],
        "mod": ["assign", "forum"],
        "theme": ["boost"],
    }


def test_a_local_sites_formats_need_no_call(tmp_path: Path) -> None:
    root = make_tree(tmp_path / "m")
    for name in ("topics", "weeks", "tiles"):
        folder = root / "course" / "format" / name
        folder.mkdir(parents=True)
        (folder / "version.php").write_text("<?php\n")
    (root / "course" / "format" / "broken").mkdir()  # no version.php: not a plugin
    components = root / "lib" / "components.json"
    types = json.loads(components.read_text())
    types["plugintypes"]["format"] = "course/format"
    components.write_text(json.dumps(types))
    client = MoodleClient(PLACEHOLDER_URL, "t", transport=ReplayTransport(RECORDING))
    assert installed_formats(client, root) == [*CORE_FORMATS, "tiles"]


def test_probing_a_remote_site_gives_display_names() -> None:
    with _client() as client:
        found = probe_plugins(client, "theme", ["boost", "classic", "moove"])
    assert found == {"boost": "Boost", "classic": "Classic", "moove": "Moove"}


def test_an_uninstalled_plugin_answers_its_string_key() -> None:
    assert display_name("[[pluginname]]") is None
    assert display_name("Custom sections") == "Custom sections"
    assert with_core_first(("topics", "weeks"), ["tiles", "weeks", "grid"]) == [
        "topics",
        "weeks",
        "grid",
        "tiles",
    ]
