"""Record excerpts of real ``contract.php`` answers into tests/fixtures/contract/.

From the repository root, against sandboxes of each release::

    MOODLE_REGRESS_HOME=... .venv/bin/python -m tests.record_contract --site live-4.5
    MOODLE_REGRESS_HOME=... .venv/bin/python -m tests.record_contract --site live-5.0

Only the functions in :data:`FUNCTIONS` are kept (the offline tests of the
classification and the matching need these; whole answers are 1.5 MB).  The file is
named after the release the site runs (``4.5.6.json``, ``5.0.6+.json``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from moodle_regress.observe.contract_source import read_sandbox_contract
from moodle_regress.sandbox.codetree import short_release
from moodle_regress.site import resolve_site

OUT = Path(__file__).parent / "fixtures" / "contract"

FUNCTIONS = (
    "core_ai_set_provider_order",  # added in 5.0
    "core_badges_get_badge",  # 5.0: courseid, coursefullname in the answer
    "core_badges_get_user_badges",  # 5.0: the image author fields removed
    "core_calendar_create_calendar_events",  # a default that is time()
    "core_course_edit_module",  # deprecated in 5.0
    "core_course_edit_section",  # deprecated in 5.0
    "core_course_get_contents",  # the answer gains a field
    "enrol_manual_unenrol_users",  # 5.0.6+: roleid removed
    "mod_chat_view_chat",  # mod_chat removed in 5.0
    "mod_choice_get_choice_results",  # 5.0: groupid parameter
    "mod_survey_view_survey",  # mod_survey removed in 5.0
    "theme_moove_fontsize",  # a third-party theme in the 4.5 tree only
    "tiny_premium_get_api_key",  # put into the mobile service in 5.0
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--site", required=True, help="a sandbox (name or descriptor)")
    args = parser.parse_args()
    descriptor = resolve_site(args.site)
    if descriptor.sandbox is None:
        parser.error(f"{args.site} is not a sandbox")
    answer = read_sandbox_contract(descriptor.sandbox.code_dir)
    functions = answer["functions"]
    answer["functions"] = {name: functions[name] for name in FUNCTIONS if name in functions}
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{short_release(answer['release'])}.json"
    path.write_text(json.dumps(answer, indent=1, sort_keys=True) + "\n")
    print(f"{len(answer['functions'])} functions of {answer['release']} -> {path}")


if __name__ == "__main__":
    main()
