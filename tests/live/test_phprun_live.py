"""Our PHP scripts against a real Moodle (the shared live-4.5 sandbox): the result comes
back, Moodle's own exception comes back as a typed error, secrets stay out of the log."""

from __future__ import annotations

from pathlib import Path

import pytest

from moodle_regress.phprun import PhpScriptError, run_php_script
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
