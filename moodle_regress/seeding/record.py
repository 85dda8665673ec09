"""Record what a real Moodle answers to the seeder, for the offline tests.

    python -m moodle_regress.seeding.record --site SANDBOX [--out fixtures/recordings]

Writes ``<out>/<release>/seeding-guard.json`` (the write guard on a marked and an
unmarked site) and ``seeding-apply.json`` (a small plan applied twice, one
request at a time so that replay order is fixed).  It deletes and re-creates the
test-site marker and seeds tag ``rec``, removing it again: use a sandbox of your own.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from moodle_regress.config import release_key
from moodle_regress.guard import MARKER_IDNUMBER, is_marked_test_site, mark_test_site
from moodle_regress.seeding.apply import ApplyOptions, apply_dataset
from moodle_regress.seeding.cleanup import cleanup
from moodle_regress.seeding.generate import generate
from moodle_regress.seeding.plan import parse_plan
from moodle_regress.site import resolve_site
from moodle_ws import MoodleClient
from moodle_ws.testing import RecordingTransport
from moodle_ws.transport import RequestsTransport

#: The plan the offline apply tests replay (they import it from here).
RECORDED_PLAN = """\
tag: rec
categories:
  - {name: Recorded, idnumber: top}
courses:
  - shortname: rec-topics
    fullname: Recorded topics course
    category: top
    numsections: 3
    sections:
      - {number: 1, name: Opening}
      - {number: 3, visible: false}
cohorts:
  - {idnumber: c1, name: Recorded cohort, members: [rec-u01, rec-u02]}
generate:
  users:
    - {count: 12, role_hint: student, username_pattern: "rec-u{n:02d}"}
  courses:
    - {count: 2, category: top, formats: [weeks], shortname_pattern: "rec-c{n}", numsections: 2}
  enrolments:
    - {per_course: 5, role: student, users: student, courses: all}
  groups: {per_course: 1, members: 1.0, courses: all}
"""
RECORDED_SEED = 3
#: One request at a time: the replay must see requests in the recorded order.
RECORDED_OPTIONS = ApplyOptions(user_batch=5, enrol_batch=4, member_batch=4, workers=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", required=True)
    parser.add_argument("--out", type=Path, default=Path("fixtures/recordings"))
    args = parser.parse_args()
    descriptor = resolve_site(args.site)
    token = descriptor.token.get_secret_value()
    with descriptor.client() as plain:
        release = plain.release
        version = str(plain.site_info().get("version", ""))
    short = release_key(release)
    scrub = []
    if descriptor.sandbox is not None:
        scrub = [(str(descriptor.sandbox.root), "/sandbox")]

    def recorder() -> tuple[RecordingTransport, MoodleClient]:
        transport = RecordingTransport(
            RequestsTransport(),
            site_url=descriptor.url,
            release=short,
            moodle_release=release,
            moodle_version=version,
            scrub=scrub,
        )
        return transport, MoodleClient(descriptor.url, token, transport=transport, timeout=180)

    # The guard: marked, then unmarked (marker deleted), then marked again.
    guard, client = recorder()
    with guard.label("marked"):
        assert is_marked_test_site(client, refresh=True)
    marker = client.categories.get({"idnumber": MARKER_IDNUMBER}, addsubcategories=False)
    client.categories.delete([marker[0].id], recursive=True)
    with guard.label("unmarked"):
        assert not is_marked_test_site(client, refresh=True)
    mark_test_site(client)
    guard.recording.note = "labels: marked, unmarked (core_course_get_categories by idnumber)"
    guard.recording.save(args.out / short / "seeding-guard.json")

    # A small plan applied twice.
    data = generate(parse_plan(RECORDED_PLAN, "recorded"), RECORDED_SEED)
    with descriptor.client(timeout=180) as plain:
        cleanup(plain, data.tag, data=data)
    applying, client = recorder()
    with applying.label("first"):
        apply_dataset(client, data, options=RECORDED_OPTIONS)
    with applying.label("again"):
        apply_dataset(client, data, options=RECORDED_OPTIONS)
    applying.recording.note = (
        "moodle_regress.seeding.record.RECORDED_PLAN applied twice (labels first, again)"
    )
    applying.recording.save(args.out / short / "seeding-apply.json")
    with descriptor.client(timeout=180) as plain:
        cleanup(plain, data.tag, data=data)


if __name__ == "__main__":
    main()
