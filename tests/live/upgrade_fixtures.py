"""What the preflight and failed-upgrade live tests put on real sites and trees:

- :func:`tree_with_failing_plugin`: a hard-link copy of a Moodle code tree (made by the
  test; the original is never written to) holding ``local_preflightboom``, a plugin of
  the tests' own whose install step throws;
- :func:`add_removed_activities`: chat and survey activities (modules 5.0 removes),
  made with Moodle's own data generators by a PHP script of the tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from moodle_regress.phprun import parse_output, run_php
from moodle_regress.resources import packaged_path
from moodle_regress.sandbox.codetree import inspect_tree

FAILING_PLUGIN = "local_preflightboom"
FAILING_VERSION = "2025010100"
FAILING_MESSAGE = "The moodle-regress test plugin refuses to install"
_PLUGIN_DIR = Path(__file__).parents[1] / "fixtures" / "plugins" / FAILING_PLUGIN
_ACTIVITIES_PHP = Path(__file__).parent / "php" / "removed_activities.php"


def tree_with_failing_plugin(source: Path, dest: Path) -> Path:
    """``dest``: ``source`` (hard links) plus the failing plugin in ``local/``."""
    subprocess.run(["cp", "-al", str(source), str(dest)], check=True)
    shutil.copytree(_PLUGIN_DIR, inspect_tree(dest).dirroot / "local" / "preflightboom")
    return dest


def add_removed_activities(
    code_dir: Path, *, course: str, chats: int, surveys: int
) -> dict[str, Any]:
    """Chat and survey activities in course ``course`` (made if missing); idempotent."""
    payload = {
        "config": str(code_dir / "config.php"),
        "common": str(packaged_path("php", "lib", "common.php")),
        "shortname": course,
        "chats": chats,
        "surveys": surveys,
    }
    done = run_php(
        [str(_ACTIVITIES_PHP)], cwd=code_dir, title=_ACTIVITIES_PHP.name, stdin=json.dumps(payload)
    )
    result: dict[str, Any] = parse_output(_ACTIVITIES_PHP.name, done.stdout, done.stderr)
    return result
