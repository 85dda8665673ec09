"""A tiny fake Moodle code tree for offline sandbox tests (written here, not copied)."""

from __future__ import annotations

import json
from pathlib import Path

ENVIRONMENT = """<?xml version="1.0" encoding="UTF-8" ?>
<COMPATIBILITY_MATRIX>
  <MOODLE version="{branch_key}" requires="{requires}">
    <DATABASE level="required"><VENDOR name="postgres" version="{pg}" /></DATABASE>
    <PHP version="{php}" level="required" />
    <PHP_EXTENSIONS>
      <PHP_EXTENSION name="iconv" level="required" />
      <PHP_EXTENSION name="intl" level="required" />
      <PHP_EXTENSION name="soap" level="optional" />
    </PHP_EXTENSIONS>
  </MOODLE>
</COMPATIBILITY_MATRIX>
"""


def make_tree(
    root: Path,
    *,
    version: str = "2024100706.00",
    release: str = "4.5.6 (Build: 20250811)",
    branch: str = "405",
    public: bool = False,
    requires: str = "4.1.2",
    php: str = "8.1.0",
    pg: str = "13",
) -> Path:
    dirroot = root / "public" if public else root
    (dirroot / "lib").mkdir(parents=True)
    (root / "admin" / "cli").mkdir(parents=True)
    (dirroot / "admin").mkdir(exist_ok=True)
    (root / "admin" / "cli" / "install_database.php").write_text("<?php\n")
    (root / "lib").mkdir(exist_ok=True)
    (root / "lib" / "setup.php").write_text("<?php\n")
    (dirroot / "lib" / "setup.php").write_text("<?php\n")
    (dirroot / "version.php").write_text(
        "<?php\n/**\n * MOODLE VERSION INFORMATION.\n */\n"
        f"$version  = {version};\n$release  = '{release}';\n$branch   = '{branch}';\n"
    )
    key = f"{branch[:-2]}.{int(branch[-2:])}"
    (dirroot / "admin" / "environment.xml").write_text(
        ENVIRONMENT.format(branch_key=key, requires=requires, php=php, pg=pg)
    )
    prefix = "public/" if public else ""
    (root / "lib" / "components.json").write_text(
        json.dumps({"plugintypes": {"mod": f"{prefix}mod", "theme": f"{prefix}theme"}})
    )
    for plugin in ("mod/forum", "mod/assign", "theme/boost", "mod/assign/submission/file"):
        (dirroot / plugin).mkdir(parents=True, exist_ok=True)
        (dirroot / plugin / "version.php").write_text("<?php\n")
    (dirroot / "mod" / "assign" / "db").mkdir()
    (dirroot / "mod" / "assign" / "db" / "subplugins.json").write_text(
        json.dumps({"subplugintypes": {"assignsubmission": "submission"}})
    )
    (dirroot / "mod" / "notaplugin").mkdir()
    return root
