"""The PHP-script runner's protocol: JSON in, one result line out, errors with Moodle's
own message, secrets kept out of the log.  The scripts here are tiny PHP files of the
test's own that use ``moodle_regress/php/lib/site.php`` with a stand-in config.php
(what Moodle's scripts do is covered by the live tests)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
from importlib import resources
from pathlib import Path

import pytest

from moodle_regress.phprun import PHP_INI, PhpScriptError, parse_output, probe_php, run_php

pytestmark = pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")

SITE_START = resources.files("moodle_regress") / "php" / "lib" / "site.php"

SCRIPT = """<?php
define('CLI_SCRIPT', true);
require('{site_start}');
echo "some progress output\\n";
if (!empty($input['fail'])) {{
    $e = new Exception('Can not find data record in database.');
    $e->errorcode = 'invalidrecord';
    $e->debuginfo = 'SELECT * FROM {{course}} WHERE id = ?';
    throw $e;
}}
moodle_regress_result(['sum' => array_sum($input['numbers']), 'key' => $input['key']]);
"""


def _run(tmp_path: Path, payload: dict[str, object]) -> tuple[str, str, Path]:
    (tmp_path / "config.php").write_text("<?php\n$CFG = new stdClass();\n")
    script = tmp_path / "script.php"
    script.write_text(SCRIPT.format(site_start=SITE_START))
    log = tmp_path / "logs" / "php.log"
    data = {**payload, "config": str(tmp_path / "config.php")}
    result = run_php(
        [str(script)], cwd=tmp_path, title="script.php", log=log, stdin=json.dumps(data)
    )
    return result.stdout, result.stderr, log


def test_the_result_line_is_the_result_and_the_rest_goes_to_the_log(tmp_path: Path) -> None:
    stdout, stderr, log = _run(tmp_path, {"numbers": [1, 2, 3], "key": "Sekrit-Key-42"})
    assert parse_output("script.php", stdout, stderr) == {"sum": 6, "key": "Sekrit-Key-42"}
    text = log.read_text()
    assert text.startswith("$ php script.php\n")
    assert "some progress output" in text
    assert "[exit status 0]" in text


def test_an_exception_becomes_a_php_script_error_with_moodles_words(tmp_path: Path) -> None:
    stdout, stderr, log = _run(tmp_path, {"fail": True, "numbers": [], "key": ""})
    with pytest.raises(PhpScriptError) as caught:
        parse_output("script.php", stdout, stderr, log=log)
    error = caught.value
    assert error.errorcode == "invalidrecord"
    assert "Can not find data record in database." in error.message
    assert error.debuginfo is not None and "SELECT * FROM {course}" in error.debuginfo
    assert error.fix == f"see {log}"


def test_no_result_names_the_last_lines(tmp_path: Path) -> None:
    with pytest.raises(PhpScriptError, match="printed no result: starting / PHP Fatal error: boom"):
        parse_output("script.php", "starting\n", "PHP Fatal error: boom\n")


def test_secrets_of_the_payload_stay_out_of_the_log(tmp_path: Path) -> None:
    from moodle_regress.phprun import _register_payload_secrets

    _register_payload_secrets({"courses": [{"methods": [{"key": "Sekrit-Key-42"}]}]})
    _, _, log = _run(tmp_path, {"numbers": [1], "key": "Sekrit-Key-42"})
    text = log.read_text()
    assert "Sekrit-Key-42" not in text
    assert "MOODLE_REGRESS_RESULT" in text  # the result line is logged, masked


SLOW = """<?php
echo "first step done\\n";
fwrite(STDERR, "a warning\\n");
flush();
sleep({seconds});
echo "second step done\\n";
"""


def test_the_log_grows_while_php_runs(tmp_path: Path) -> None:
    # A user tails install.log during a long install; a test interrupts it once it grows.
    script = tmp_path / "slow.php"
    script.write_text(SLOW.format(seconds=3))
    log = tmp_path / "php.log"
    done: list[object] = []
    runner = threading.Thread(
        target=lambda: done.append(run_php([str(script)], cwd=tmp_path, title="slow", log=log))
    )
    runner.start()
    deadline = time.monotonic() + 10
    while "a warning" not in (log.read_text() if log.exists() else ""):
        assert time.monotonic() < deadline, "the log stayed empty while PHP ran"
        time.sleep(0.05)
    assert "first step done" in log.read_text()
    assert runner.is_alive() and not done
    runner.join()
    result = done[0]
    assert isinstance(result, subprocess.CompletedProcess)
    assert (result.stdout, result.stderr) == ("first step done\nsecond step done\n", "a warning\n")
    assert log.read_text().endswith("second step done\n[exit status 0]\n")


def test_a_run_that_times_out_keeps_what_it_printed(tmp_path: Path) -> None:
    script = tmp_path / "slow.php"
    script.write_text(SLOW.format(seconds=30))
    log = tmp_path / "php.log"
    with pytest.raises(PhpScriptError, match="did not finish within 1 s") as caught:
        run_php([str(script)], cwd=tmp_path, title="slow", log=log, timeout=1)
    assert caught.value.fix == f"see {log}"
    text = log.read_text()
    assert "first step done" in text
    assert text.endswith("[timed out]\n")
    assert "second step done" not in text


CPUS_SCRIPT = """<?php
usleep(100000);
preg_match('/^Cpus_allowed_list:\\s*(\\S+)/m', file_get_contents('/proc/self/status'), $m);
echo $m[1], "\\n";
"""


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to pin")
def test_php_runs_side_by_side_work_on_different_cpus(tmp_path: Path) -> None:
    script = tmp_path / "cpus.php"
    script.write_text(CPUS_SCRIPT)
    found: list[str] = []

    def run() -> None:
        found.append(run_php([str(script)], cwd=tmp_path, title="cpus.php").stdout.strip())

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(cpus.isdigit() for cpus in found), found  # each on one CPU
    assert len(set(found)) == 2


def test_the_probe_sees_php_as_moodles_runs_see_it() -> None:
    facts = probe_php(["memory_limit", "no_such_setting"])
    assert facts is not None
    version = subprocess.run(
        ["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True, check=True
    ).stdout
    assert facts.version == version
    assert facts.series == ".".join(version.split(".")[:2])
    assert "json" in facts.extensions or "standard" in facts.extensions
    assert facts.settings == {"memory_limit": PHP_INI["memory_limit"], "no_such_setting": None}


def test_no_such_php_is_none() -> None:
    assert probe_php(binary="php-that-is-not-there") is None
