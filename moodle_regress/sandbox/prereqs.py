"""Checking what a sandbox needs on this machine, and saying how to get what is missing.

Requirements come from the Moodle tree itself (``admin/environment.xml``: the PHP
version and the required extensions for that release) plus what the sandbox's
database engine needs (its PHP extension, server and client tools: see
``Engine.requirements``).
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field

from moodle_regress.phprun import PhpFacts, probe_php
from moodle_regress.sandbox.codetree import CodeTree, release_tuple
from moodle_regress.sandbox.db import DEFAULT_ENGINE, Engine, engine_named
from moodle_regress.sandbox.db.base import Lookup
from moodle_regress.sandbox.errors import PrerequisiteError

#: Extensions outside PHP's core Debian package (``php8.2-common``); any other one
#: comes with ``php8.2-common``.
_EXTENSION_PACKAGES = {
    "dom": "xml", "simplexml": "xml", "xmlreader": "xml", "xmlwriter": "xml", "xml": "xml",
    "xsl": "xml", "pgsql": "pgsql", "pdo_pgsql": "pgsql", "mysqli": "mysql", "mysqlnd": "mysql",
    "pdo_mysql": "mysql", "intl": "intl", "gd": "gd",
    "curl": "curl", "zip": "zip", "soap": "soap", "mbstring": "mbstring",
}  # fmt: skip


@dataclass
class PrereqReport:
    """What is there and what is missing, with the Debian packages that bring it."""

    php: PhpFacts | None = None
    engine: str = DEFAULT_ENGINE
    missing: list[str] = field(default_factory=list)
    packages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.missing

    @property
    def apt_command(self) -> str:
        return "apt-get install -y " + " ".join(sorted(set(self.packages)))

    def raise_if_missing(self) -> None:
        if self.missing:
            raise PrerequisiteError(
                self.missing,
                f"run `{self.apt_command}` as root, or pass --install-packages",
            )


def extension_package(extension: str, series: str | None) -> str:
    prefix = f"php{series}" if series else "php"
    suffix = _EXTENSION_PACKAGES.get(extension.lower(), "common")
    return f"{prefix}-{suffix}"


def check(
    tree: CodeTree,
    *,
    engine: Engine | None = None,
    php: PhpFacts | None = None,
    php_binary: str = "php",
    need_server: bool = True,
    is_root: bool | None = None,
    which: Lookup | None = None,
) -> PrereqReport:
    """Compare this machine with what ``tree`` on ``engine`` (default PostgreSQL)
    needs.  Probes the machine unless ``php`` is given (tests pass it, and an engine
    that knows its binaries)."""
    engine = engine or engine_named(DEFAULT_ENGINE)
    needs = engine.requirements(
        tree,
        need_server=need_server,
        lookup=which,
        is_root=os.geteuid() == 0 if is_root is None else is_root,
    )
    report = PrereqReport(engine=engine.name)
    report.php = php if php is not None else probe_php(binary=php_binary)
    _check_php(report, tree, [needs.php_extension])
    for missing in needs.missing:
        report.missing.append(missing.what)
        report.packages.append(missing.package)
    return report


def _check_php(report: PrereqReport, tree: CodeTree, sandbox_extensions: list[str]) -> None:
    minimum, extensions = tree.php_requirements()
    if report.php is None:
        report.missing.append("PHP (the php command)")
        report.packages.append("php-cli")
        report.packages.extend(
            extension_package(e, None) for e in [*extensions, *sandbox_extensions]
        )
        return
    if minimum and release_tuple(report.php.version) < release_tuple(minimum):
        report.missing.append(
            f"PHP {minimum} or later for Moodle {tree.branch_key} (found {report.php.version})"
        )
        report.packages.append("php-cli")
    lacking = [
        e for e in dict.fromkeys([*extensions, *sandbox_extensions])
        if e.lower() not in report.php.extensions
    ]  # fmt: skip
    if lacking:
        report.missing.append("PHP extensions " + ", ".join(lacking))
        report.packages.extend(extension_package(e, report.php.series) for e in lacking)


def install_packages(packages: list[str]) -> None:
    """Install Debian packages with apt-get (root only)."""
    if os.geteuid() != 0:
        raise PrerequisiteError(
            ["root rights to install packages"], "run as root, or install them yourself"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", *sorted(set(packages))]):
        result = subprocess.run(command, env=env, check=False, capture_output=True, text=True)
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise PrerequisiteError(
                [f"`{' '.join(command)}` failed: {tail[0]}"],
                "check the package sources (/etc/apt/sources.list) and the network",
            )
