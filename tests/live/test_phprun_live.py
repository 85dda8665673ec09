"""Our PHP scripts against a real Moodle (the shared live-4.5 sandbox): the result comes
back, Moodle's own exception comes back as a typed error, secrets stay out of the log."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from moodle_regress.phprun import PhpScriptError, run_php, run_php_script
from moodle_regress.sandbox.db import engine_named
from moodle_regress.sandbox.moodle import php_string
from moodle_regress.site import SiteDescriptor

pytestmark = pytest.mark.live


def test_moodles_exception_comes_back_with_its_errorcode(
    site_45: SiteDescriptor, tmp_path: Path
) -> None:
    assert site_45.sandbox is not None
    log = tmp_path / "php.log"
    key = "Never-Logged-Key-7"
    with pytest.raises(PhpScriptError) as caught:
        run_php_script(
            site_45.sandbox.code_dir,
            "enrol_methods.php",
            {"courses": [{"courseid": 987654, "methods": [{"method": "self", "key": key}]}]},
            log=log,
        )
    error = caught.value
    assert error.errorcode == "invalidrecord"
    assert "find data record in database" in error.message  # Moodle's own words
    assert error.debuginfo and "course" in error.debuginfo
    assert key not in log.read_text()
    assert "$ php enrol_methods.php" in log.read_text()


def test_configure_reports_the_site_and_no_missing_plugins(
    site_45: SiteDescriptor, tmp_path: Path
) -> None:
    assert site_45.sandbox is not None
    log = tmp_path / "configure.log"
    result = run_php_script(
        site_45.sandbox.code_dir,
        "configure.php",
        {
            "service": "moodle_regress",
            "service_name": "moodle-regress",
            "prefixes": ["core_"],
            "marker_idnumber": "moodle-regress-test-site",
            "marker_name": "moodle-regress test site marker",
        },
        log=log,
    )
    assert str(result["release"]).startswith("4.5")
    assert result["missing_plugins"] == []
    assert result["token"] == site_45.token.get_secret_value()
    assert result["token"] not in log.read_text()


_BACKEND_CPUS = """<?php
define('CLI_SCRIPT', true);
require({config});
usleep(200000);  // long after the runner pinned this process
$id = (int) $DB->get_field_sql({sql});
$cpus = fn(string $status)
    => preg_match('/^Cpus_allowed_list:\\s*(\\S+)/m', $status, $m) ? $m[1] : '?';
echo json_encode(['php' => $cpus(file_get_contents('/proc/self/status')),
    'backend' => $cpus((string) @file_get_contents("/proc/$id/status"))]), "\\n";
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
@pytest.mark.parametrize("site_fixture", ["site_45", "site_45_mariadb"])
def test_a_php_run_and_its_database_backend_share_one_cpu(
    site_fixture: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    site: SiteDescriptor = request.getfixturevalue(site_fixture)
    assert site.sandbox is not None
    code_dir = site.sandbox.code_dir
    assert site.db_engine is not None
    sql = engine_named(site.db_engine).backend_process_sql
    script = tmp_path / "cpus.php"
    script.write_text(
        _BACKEND_CPUS.format(config=php_string(str(code_dir / "config.php")), sql=php_string(sql))
    )
    found = json.loads(run_php([str(script)], cwd=code_dir, title="cpus.php").stdout.strip())
    assert found["php"].isdigit(), found  # one CPU, not a list or a range
    assert found["backend"] == found["php"]
