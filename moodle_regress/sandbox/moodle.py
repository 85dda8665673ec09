"""Driving Moodle itself: config.php, the CLI installer and upgrader, and the
tool's own PHP script that configures a site for testing."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from moodle_regress.files import write_atomic
from moodle_regress.phprun import PhpScriptError, last_lines, run_php, run_php_script
from moodle_regress.sandbox.codetree import CodeTree
from moodle_regress.sandbox.db import DatabaseConfig, engine_for, query
from moodle_regress.sandbox.db.base import PhpValue
from moodle_regress.sandbox.errors import InstallError, SandboxError

SERVICE = "moodle_regress"
SERVICE_NAME = "moodle-regress"
MARKER_IDNUMBER = "moodle-regress-test-site"
MARKER_NAME = "moodle-regress test site marker"

#: Functions the tool's service holds: every external function whose name starts
#: with one of these (the tool, its suites and its seeding use them).
FUNCTION_PREFIXES: tuple[str, ...] = (
    "core_", "enrol_", "tool_mobile_", "gradereport_", "mod_", "block_", "message_",
    "report_", "tool_lp_", "tool_dataprivacy_", "tool_policy_", "qbank_", "format_",
)  # fmt: skip


def php_string(value: str) -> str:
    """A PHP single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def php_value(value: PhpValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return php_string(value)


def php_array(values: Mapping[str, PhpValue]) -> str:
    return "[" + ", ".join(f"{php_string(k)} => {php_value(v)}" for k, v in values.items()) + "]"


def render_config_php(
    *,
    name: str,
    db: DatabaseConfig,
    wwwroot: str,
    dataroot: Path,
    layout: str,
    setup: Path | None = None,
    pin_backend: bool = False,
) -> str:
    """The sandbox's config.php.  ``lib/setup.php`` is next to it in both layouts
    (5.1 keeps a forwarding ``lib/setup.php`` at the tree's root); ``setup`` names
    another one (a throwaway config.php outside the tree).  ``pin_backend`` (a
    database server on this machine): a CLI run pinned to one CPU pins its database
    backend to it too (see :mod:`moodle_regress.cpus`)."""
    del layout  # same file for both layouts; kept for callers' clarity
    engine = engine_for(db)
    moodle_db = engine.moodle_config(db)
    lines = [
        "<?php",
        f"// moodle-regress sandbox {name}: written by moodle-regress, rewritten on start.",
        "unset($CFG);",
        "global $CFG;",
        "$CFG = new stdClass();",
        f"$CFG->dbtype = {php_string(moodle_db.dbtype)};",
        f"$CFG->dblibrary = {php_string(moodle_db.dblibrary)};",
        f"$CFG->dbhost = {php_string(moodle_db.dbhost)};",
        f"$CFG->dbname = {php_string(db.name)};",
        f"$CFG->dbuser = {php_string(db.user)};",
        f"$CFG->dbpass = {php_string(db.password)};",
        f"$CFG->prefix = {php_string(db.prefix)};",
        f"$CFG->dboptions = {php_array(moodle_db.dboptions)};",
        f"$CFG->wwwroot = {php_string(wwwroot)};",
        f"$CFG->dataroot = {php_string(str(dataroot))};",
        "$CFG->admin = 'admin';",
        "$CFG->directorypermissions = 02777;",
        "// A sandbox never sends mail.",
        "$CFG->noemailever = true;",
        "// Errors go to the log, never into web service responses.",
        "$CFG->debug = 15;",
        "$CFG->debugdisplay = 0;",
        (
            f"require_once({php_string(str(setup))});"
            if setup is not None
            else "require_once(__DIR__ . '/lib/setup.php');"
        ),
        *(_pin_backend_php(engine.backend_process_sql) if pin_backend else []),
        "",
    ]
    return "\n".join(lines)


def _pin_backend_php(backend_sql: str) -> list[str]:
    """config.php's lines that put a CLI run's database backend on the run's CPU."""
    return [
        "// A CLI run pinned to one CPU (moodle_regress/cpus.py) works with its database",
        "// backend on that CPU: their round trips then cost a fraction.",
        "if (PHP_SAPI === 'cli' && isset($DB)",
        "        && preg_match('/^Cpus_allowed_list:\\s*(\\d+)\\s*$/m',",
        "            (string) @file_get_contents('/proc/self/status'), $mrcpu)) {",
        "    try {",
        f"        $mrpid = (int) $DB->get_field_sql({php_string(backend_sql)});",
        "        if ($mrpid > 0) {",
        "            @exec('taskset -p -c ' . (int) $mrcpu[1] . ' ' . $mrpid",
        "                . ' >/dev/null 2>&1');",
        "        }",
        "    } catch (Throwable) {",
        "        // A hint for speed only.",
        "    }",
        "    unset($mrcpu, $mrpid);",
        "}",
    ]


def write_config(tree: CodeTree, text: str) -> None:
    # Atomic rename: in a hard-linked copy this never touches the original's file.
    write_atomic(tree.config_php, text, mode=0o640)


def run_cli(
    tree: CodeTree,
    script: str,
    args: list[str],
    *,
    log: Path,
    error: type[SandboxError] = InstallError,
    what: str,
    stdin: str | None = None,
) -> str:
    """Run one of Moodle's own CLI scripts, logging its output (passwords left out);
    raise ``error`` naming the last lines of output when it fails."""
    shown = " ".join(a for a in args if "pass" not in a)
    result = run_php(
        [str(tree.cli(script)), *args],
        cwd=tree.root,
        title=f"{script} {shown}".strip(),
        log=log,
        stdin=stdin,
    )
    if result.returncode != 0:
        raise error(f"{what} failed: {last_lines(result.stdout + result.stderr)}", f"see {log}")
    return result.stdout


def install(
    tree: CodeTree,
    *,
    log: Path,
    admin_username: str,
    admin_password: str,
    admin_email: str,
    fullname: str,
    shortname: str,
) -> None:
    """Moodle's own CLI installer into the empty database that config.php names."""
    run_cli(
        tree,
        "install_database.php",
        [
            "--agree-license",
            "--lang=en",
            f"--adminuser={admin_username}",
            f"--adminpass={admin_password}",
            f"--adminemail={admin_email}",
            f"--fullname={fullname}",
            f"--shortname={shortname}",
        ],
        log=log,
        what="Moodle's installer",
    )


def upgrade(tree: CodeTree, *, log: Path, error: type[SandboxError]) -> None:
    run_cli(
        tree,
        "upgrade.php",
        ["--non-interactive", "--allow-unstable"],
        log=log,
        error=error,
        what="Moodle's upgrade",
    )


def purge_caches(tree: CodeTree, *, log: Path) -> None:
    run_cli(tree, "purge_caches.php", [], log=log, what="purging Moodle's caches")


@dataclass
class Configured:
    """What ``configure.php`` reports."""

    release: str
    version: str
    branch: str
    token: str
    service_id: int
    functions: int
    added: list[str] = field(default_factory=list)
    tours_disabled: int = 0
    #: Plugins the database knows but the code lacks (Moodle's plugin manager says).
    missing_plugins: list[str] = field(default_factory=list)
    #: Moodle's identifier of the site (``siteidentifier``).
    siteidentifier: str = ""


def configure(
    tree: CodeTree,
    *,
    log: Path,
    admin_password: str | None = None,
    site_names: tuple[str, str] | None = None,
    new_identity: bool = False,
) -> Configured:
    """Configure the site for testing (see ``moodle_regress/php/configure.php``); also set
    the admin's password, the site's (full name, short name) when given, and a site
    identifier of its own when ``new_identity`` (a site loaded from a kept install)."""
    payload = {
        "service": SERVICE,
        "service_name": SERVICE_NAME,
        "prefixes": list(FUNCTION_PREFIXES),
        "marker_idnumber": MARKER_IDNUMBER,
        "marker_name": MARKER_NAME,
        "admin_password": admin_password or "",
        "site_names": list(site_names) if site_names else [],
        "new_identity": new_identity,
    }
    try:
        data = run_php_script(tree.root, "configure.php", payload, log=log)
    except PhpScriptError as exc:
        raise InstallError(
            f"configuring the site for testing failed: {exc.message}", exc.fix
        ) from None
    return Configured(**{k: data[k] for k in Configured.__dataclass_fields__})


#: Authentication plugins that log users in through another system: off in an import.
EXTERNAL_AUTH = ("cas", "ldap", "oauth2", "lti", "mnet", "shibboleth")


@dataclass
class Sanitised:
    """What ``sanitise.php`` did to an imported site."""

    admin_username: str
    #: The old addresses replaced by the sandbox's.
    replaced: list[str]
    auth_off: list[str]
    scheduled_disabled: int
    adhoc_deleted: int


def sanitise(tree: CodeTree, *, log: Path, new_url: str, old_urls: Sequence[str]) -> Sanitised:
    """Make an imported copy of a real site safe (see ``moodle_regress/php/sanitise.php``):
    no email, no task, no external login, its old addresses replaced by ``new_url``."""
    payload = {"new_url": new_url, "old_urls": list(old_urls), "auth_off": list(EXTERNAL_AUTH)}
    try:
        data = run_php_script(tree.root, "sanitise.php", payload, log=log)
    except PhpScriptError as exc:
        raise InstallError(
            f"making the imported site safe failed: {exc.message}", exc.fix
        ) from None
    return Sanitised(**{k: data[k] for k in Sanitised.__dataclass_fields__})


#: Where a site's address is stored and must not be left (table, column).
URL_COLUMNS = (("config", "value"), ("config_plugins", "value"), ("course", "summary"),
               ("mnet_host", "wwwroot"))  # fmt: skip


def old_urls_left(db: DatabaseConfig, urls: Sequence[str]) -> list[str]:
    """Where any of ``urls`` is still stored ("config: 2 rows with https://..."): an
    address followed by anything that cannot continue a host or port."""
    left = []
    engine = engine_for(db)
    for url in urls:
        regex = re.escape(url.rstrip("/")) + "($|[^A-Za-z0-9.:-])"
        for table, column in URL_COLUMNS:
            matches = engine.regex_match_sql(column, regex)
            ((count,),) = query(db, f"SELECT count(*) FROM {db.prefix}{table} WHERE {matches}")
            if int(count or 0):
                left.append(f"{table}.{column}: {count} rows with {url}")
    return left


@dataclass
class EnvironmentCheck:
    """Moodle's own environment check of a site (``php/environment.php``)."""

    ok: bool
    #: Every check that did not pass: part, info, level ("required"/"optional"), feedback.
    failed: list[dict[str, str]]
    #: What Moodle sees of the database: family, version (collation, row_format on MySQL).
    database: dict[str, str]

    @property
    def required_failures(self) -> list[dict[str, str]]:
        return [check for check in self.failed if check["level"] == "required"]


def check_environment(tree: CodeTree) -> EnvironmentCheck:
    """Run Moodle's environment check (admin/environment.xml, for the site's release)
    on the site: PHP, extensions, and the database's settings."""
    data = run_php_script(tree.root, "environment.php", {})
    return EnvironmentCheck(ok=bool(data["ok"]), failed=data["failed"], database=data["database"])


@dataclass(frozen=True)
class SiteCounts:
    users: int
    courses: int
    enrolments: int


def count_site(db: DatabaseConfig) -> SiteCounts:
    """Users (not deleted, not guest), courses (not the front page), enrolments."""
    p = db.prefix
    ((users, courses, enrolments),) = query(
        db,
        f"SELECT (SELECT count(*) FROM {p}user WHERE deleted = 0 AND username <> 'guest'),"
        f" (SELECT count(*) FROM {p}course WHERE category <> 0),"
        f" (SELECT count(*) FROM {p}user_enrolments)",
    )
    return SiteCounts(int(users or 0), int(courses or 0), int(enrolments or 0))


def site_version(db: DatabaseConfig) -> tuple[str, str]:
    """(release, version) the database records."""
    rows = query(
        db, f"SELECT name, value FROM {db.prefix}config WHERE name IN ('release', 'version')"
    )
    values = {str(name): value or "" for name, value in rows}
    return values.get("release", ""), values.get("version", "")


@dataclass(frozen=True)
class UpgradeFailure:
    """What Moodle says of a failed upgrade: the plugin whose step threw (its
    ``upgrade_log`` row), the version it was going to, and the exception's message and
    debug information (the upgrader's output)."""

    component: str | None
    version: str | None
    message: str
    debuginfo: str | None = None

    def describe(self) -> str:
        where = f" in {self.component}" + (f" {self.version}" if self.version else "")
        debug = f" (debug: {self.debuginfo})" if self.debuginfo else ""
        return f"{where if self.component else ''}: {self.message}{debug}"


_FATAL = re.compile(r"^!!! (.*) !!!$")
#: The upgrader announces each part it upgrades: "-->mod_forum".
_PART = re.compile(r"^-->([a-z][a-z0-9_]*)\s*$", re.M)


def fatal_error(output: str) -> tuple[str, str | None] | None:
    """The last fatal error Moodle's CLI printed: ("!!! message !!!", then "!! debug
    info !!" unless it is the stack trace)."""
    lines = output.splitlines()
    for index in range(len(lines) - 1, -1, -1):
        match = _FATAL.match(lines[index].strip())
        if match:
            return match.group(1).strip(), _notification(lines[index + 1 :])
    return None


def _notification(lines: list[str]) -> str | None:
    """The text of a "!! ... !!" block at the start of ``lines`` (it may span lines)."""
    if not lines or not lines[0].startswith("!! ") or lines[0].startswith("!! Stack trace:"):
        return None
    block = []
    for line in lines:
        block.append(line)
        if line.rstrip().endswith(" !!"):
            break
    text = "\n".join(block).strip()
    return text.removeprefix("!! ").removesuffix(" !!").strip() or None


def upgrade_failure(db: DatabaseConfig, output: str, *, since: int) -> UpgradeFailure | None:
    """Why an upgrade that began at ``since`` (Unix time) failed, as Moodle says it: the
    part it was upgrading ("-->local_x" in its output, else the ``upgrade_log`` error
    row's plugin), that part's target version (its ``upgrade_log`` rows), and the
    exception it printed (else the error row's details)."""
    rows = query(
        db,
        f"SELECT plugin, targetversion, type, details FROM {db.prefix}upgrade_log "
        f"WHERE timemodified >= {int(since)} ORDER BY id DESC LIMIT 200",
    )
    error = next((row for row in rows if row[2] == "2"), None)
    fatal = fatal_error(output)
    if error is None and fatal is None:
        return None
    parts = _PART.findall(output)
    component = parts[-1] if parts else (error[0] if error else None)
    version = next((row[1] for row in rows if row[0] == component and row[1]), None)
    message, debuginfo = fatal if fatal is not None else (str(error[3] if error else ""), None)
    return UpgradeFailure(component, version, message or "unknown error", debuginfo)
