"""The PHP-script runner's protocol: JSON in, one result line out, errors with Moodle's
own message, secrets kept out of the log.  The scripts here are tiny PHP files of the
test's own that use ``moodle_regress/php/lib/common.php`` with a stand-in config.php
(what Moodle's scripts do is covered by the live tests)."""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import pytest

from moodle_regress.phprun import PhpScriptError, parse_output, run_php

pytestmark = pytest.mark.skipif(shutil.which("php") is None, reason="php is not installed")

COMMON = resources.files("moodle_regress") / "php" / "lib" / "common.php"

SCRIPT = """<?php
define('CLI_SCRIPT', true);
require('{common}');
$input = moodle_regress_input();
require($input['config']);
moodle_regress_catch_errors();
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
    script.write_text(SCRIPT.format(common=COMMON))
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
