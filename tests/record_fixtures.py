"""Record real Moodle answers into fixtures/recordings/<release>/ for offline tests.

Two ways to run it (from the repository root)::

    # everything, on a throw-away sandbox of its own (needs a configured code tree):
    .venv/bin/python -m tests.record_fixtures --release 4.5
    # the non-destructive part only, against an existing site:
    .venv/bin/python -m tests.record_fixtures --site live-4.5

``--release`` brings up a sandbox named ``rec-<release>`` under a private state
directory, records the typed-layer scenario and every error (including web
services switched off, maintenance mode and a running upgrade, which need the
site's configuration changed), then destroys the sandbox.  ``--site`` never
changes a site's configuration: it records the scenario and the errors a client
alone can cause.  Tokens, passwords and the site's host never reach the files.

The scenario functions are deterministic (fixed names, no clock), so
tests/unit/test_areas.py replays them request by request against the recording.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

from moodle_ws import MoodleClient, MoodleError, request_token
from moodle_ws.areas.categories import CategoryCreate, CategoryUpdate
from moodle_ws.areas.cohorts import CohortCreate, CohortMember
from moodle_ws.areas.courses import CourseCreate, CourseUpdate
from moodle_ws.areas.enrol import ManualEnrolment, ManualUnenrolment
from moodle_ws.areas.groups import GroupCreate, GroupMember
from moodle_ws.areas.roles import RoleAssignment
from moodle_ws.areas.users import UserCreate, UserUpdate
from moodle_ws.client import release_branch
from moodle_ws.testing import RecordingTransport
from moodle_ws.transport import RequestsTransport

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "recordings"
PREFIX = "mwsrec"
#: Password of the users the scenario creates (masked in the recording).
USER_PASSWORD = "Rec-Passw0rd!x"
MANAGER_ROLE_ID = 1

Label = Callable[[str], Any]


def scenario_typed(client: MoodleClient, label: Label) -> dict[str, Any]:
    """CRUD through every typed area; cleans up what it creates.

    ``label(name)`` is a context manager naming the calls made inside it.
    Returns what it saw, for the caller to check.
    """
    seen: dict[str, Any] = {}
    with label("site_info"):
        seen["info"] = client.site.info()
    cat_id = _typed_categories(client, label, seen)
    course_id = _typed_courses(client, label, seen, cat_id)
    _typed_sections(client, label, seen, course_id)
    ids = _typed_users(client, label, seen)
    _typed_enrol(client, label, seen, course_id, ids)
    _typed_groups(client, label, seen, course_id, ids)
    _typed_cohorts(client, label, seen, ids)
    assignment = RoleAssignment(
        roleid=MANAGER_ROLE_ID, userid=ids[0], contextlevel="coursecat", instanceid=cat_id
    )
    with label("roles_assign"):
        client.roles.assign([assignment])
    with label("roles_unassign"):
        client.roles.unassign([assignment])
    with label("files_upload"):
        seen["uploaded"] = client.files.upload([("notes.txt", b"recorded by moodle_ws\n")])
    _typed_cleanup(client, label, seen, course_id=course_id, ids=ids, cat_id=cat_id)
    return seen


def _typed_categories(client: MoodleClient, label: Label, seen: dict[str, Any]) -> int:
    with label("categories_create"):
        (cat,) = client.categories.create(
            [CategoryCreate(name=f"{PREFIX} category", idnumber=f"{PREFIX}-cat")]
        )
    with label("categories_get"):
        seen["categories"] = client.categories.get({"id": cat.id})
    with label("categories_update"):
        client.categories.update([CategoryUpdate(id=cat.id, name=f"{PREFIX} category 2")])
    return cat.id


def _typed_courses(client: MoodleClient, label: Label, seen: dict[str, Any], cat_id: int) -> int:
    with label("courses_create"):
        (course,) = client.courses.create(
            [
                CourseCreate(
                    fullname=f"{PREFIX} course",
                    shortname=f"{PREFIX}-c1",
                    categoryid=cat_id,
                    format="topics",
                    numsections=2,
                    summary="<p>recorded</p>",
                )
            ]
        )
    with label("courses_get"):
        seen["courses"] = client.courses.get([course.id])
    with label("courses_get_by_field"):
        seen["courses_by_field"] = client.courses.get_by_field("id", course.id)
    with label("courses_search"):
        seen["search"] = client.courses.search(f"{PREFIX}-c1")
    with label("courses_update"):
        client.courses.update([CourseUpdate(id=course.id, fullname=f"{PREFIX} course 2")])
    with label("courses_contents"):
        seen["contents"] = client.courses.contents(course.id)
    return course.id


def _typed_sections(
    client: MoodleClient, label: Label, seen: dict[str, Any], course_id: int
) -> None:
    with label("sections_state"):
        seen["state"] = client.sections.state(course_id)
    with label("sections_add"):
        added = client.sections.add(course_id)
    with label("sections_rename"):
        client.sections.rename(course_id, added.id, f"{PREFIX} section")
    with label("sections_hide"):
        client.sections.hide(course_id, [added.id])
    with label("sections_show"):
        client.sections.show(course_id, [added.id])
    first = seen["state"].section[0].id
    with label("sections_move"):
        client.sections.move(course_id, [added.id], after=first)
    with label("sections_list"):
        seen["sections"] = client.sections.list(course_id)
    with label("sections_delete"):
        client.sections.delete(course_id, [added.id])


def _typed_users(client: MoodleClient, label: Label, seen: dict[str, Any]) -> list[int]:
    with label("users_create"):
        users = client.users.create(
            [
                UserCreate(
                    username=f"{PREFIX}-u{i}",
                    password=USER_PASSWORD,
                    firstname=f"Rec{i}",
                    lastname="User",
                    email=f"{PREFIX}-u{i}@example.invalid",
                )
                for i in (1, 2)
            ]
        )
    ids = [u.id for u in users]
    with label("users_get_by_field"):
        seen["users"] = client.users.get_by_field("username", [u.username for u in users])
    with label("users_update"):
        client.users.update([UserUpdate(id=ids[0], city="Recife", lastname="Updated")])
    return ids


def _typed_enrol(
    client: MoodleClient, label: Label, seen: dict[str, Any], course_id: int, ids: list[int]
) -> None:
    with label("enrol_methods"):
        methods = client.enrol.get_course_enrolment_methods(course_id)
        seen["methods"] = methods
    with label("enrol_manual"):
        client.enrol.manual_enrol([ManualEnrolment(userid=i, courseid=course_id) for i in ids])
    with label("enrol_enrolled_users"):
        seen["enrolled"] = client.enrol.get_enrolled_users(course_id)
    with label("enrol_users_courses"):
        seen["users_courses"] = client.enrol.get_users_courses(ids[0])
    for method in methods:
        if method.type == "self":
            with label("enrol_self_info"):
                seen["self_info"] = _capture(
                    partial(client.enrol.get_self_instance_info, method.id)
                )
            with label("enrol_self_enrol_disabled"):
                seen["self_enrol"] = _capture(
                    partial(client.enrol.self_enrol, course_id, instanceid=method.id)
                )
        if method.type == "guest":
            with label("enrol_guest_info"):
                seen["guest_info"] = _capture(
                    partial(client.enrol.get_guest_instance_info, method.id)
                )


def _typed_groups(
    client: MoodleClient, label: Label, seen: dict[str, Any], course_id: int, ids: list[int]
) -> None:
    with label("groups_create"):
        (group,) = client.groups.create(
            [GroupCreate(courseid=course_id, name=f"{PREFIX} group", idnumber=f"{PREFIX}-g1")]
        )
    with label("groups_add_members"):
        client.groups.add_members([GroupMember(groupid=group.id, userid=i) for i in ids])
    with label("groups_get_course_groups"):
        seen["groups"] = client.groups.get_course_groups(course_id)
    with label("groups_get_members"):
        seen["group_members"] = client.groups.get_members([group.id])
    with label("groups_delete_members"):
        client.groups.delete_members([GroupMember(groupid=group.id, userid=ids[1])])
    with label("groups_delete"):
        client.groups.delete([group.id])


def _typed_cohorts(
    client: MoodleClient, label: Label, seen: dict[str, Any], ids: list[int]
) -> None:
    with label("cohorts_create"):
        (cohort,) = client.cohorts.create(
            [CohortCreate(name=f"{PREFIX} cohort", idnumber=f"{PREFIX}-co1")]
        )
    with label("cohorts_search"):
        seen["cohort_search"] = client.cohorts.search(PREFIX)
    with label("cohorts_get"):
        seen["cohorts"] = client.cohorts.get([cohort.id])
    with label("cohorts_add_members"):
        client.cohorts.add_members([CohortMember.by_ids(cohort.id, i) for i in ids])
    with label("cohorts_get_members"):
        seen["cohort_members"] = client.cohorts.get_members([cohort.id])
    with label("cohorts_delete"):
        client.cohorts.delete([cohort.id])


def _typed_cleanup(
    client: MoodleClient,
    label: Label,
    seen: dict[str, Any],
    *,
    course_id: int,
    ids: list[int],
    cat_id: int,
) -> None:
    with label("enrol_manual_unenrol"):
        client.enrol.manual_unenrol([ManualUnenrolment(userid=i, courseid=course_id) for i in ids])
    with label("courses_delete_unknown"), warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        seen["delete_warnings"] = client.courses.delete([999999])
    with label("courses_delete"):
        client.courses.delete([course_id])
    with label("users_delete"):
        client.users.delete(ids)
    with label("categories_delete"):
        client.categories.delete([cat_id], recursive=True)


def _capture(fn: Callable[[], Any]) -> Any:
    # Some calls fail on a default course (self enrolment is disabled): keep the
    # error as the observed result, since it is as recorded as a success.
    try:
        return fn()
    except MoodleError as exc:
        return exc


def scenario_client_errors(
    client: MoodleClient, recorder: RecordingTransport, admin: tuple[str, str]
) -> None:
    """Errors a client alone can cause; changes nothing on the site."""
    url = client.url
    bad = MoodleClient(url, "0" * 31 + "1", transport=recorder, sleep=_no_sleep)
    with recorder.label("error_invalid_token"):
        _expect_error(lambda: bad.call("core_webservice_get_site_info"))
    with recorder.label("error_function_unknown"):
        _expect_error(lambda: client.call("local_mwsrec_no_such_function"))
    with recorder.label("error_invalid_parameter"):
        _expect_error(lambda: client.call("core_course_get_courses", options={"ids": ["abc"]}))
    with recorder.label("error_missing_record"):
        _expect_error(lambda: client.call("core_course_get_contents", courseid=999999))
    with recorder.label("warning_unknown_user"), warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        client.call("core_user_update_users", users=[{"id": 999999, "city": "Nowhere"}])
    with recorder.label("token_invalid_login"):
        _expect_error(lambda: request_token(url, admin[0], "wrong-password", transport=recorder))
    with recorder.label("token_unknown_service"):
        _expect_error(
            lambda: request_token(
                url, admin[0], admin[1], service="mwsrec_nope", transport=recorder
            )
        )
    with recorder.label("token_mobile_service"):
        mobile = request_token(url, admin[0], admin[1], transport=recorder)
    restricted = MoodleClient(url, mobile, transport=recorder, sleep=_no_sleep)
    with recorder.label("error_function_not_in_service"):
        _expect_error(lambda: restricted.call("core_user_delete_users", userids=[999999]))
    html = MoodleClient(f"{url}/login/index.php", "0" * 32, transport=recorder, sleep=_no_sleep)
    with recorder.label("error_html_page"):
        _expect_error(lambda: html.call("core_webservice_get_site_info"))


def _expect_error(fn: Callable[[], Any]) -> None:
    try:
        fn()
    except MoodleError:
        return
    raise SystemExit("expected Moodle to refuse this call, and it answered")


def _no_sleep(_seconds: float) -> None:
    return None


# --- site configuration changes (own sandbox only) ------------------------------


def scenario_site_errors(
    client: MoodleClient, recorder: RecordingTransport, admin: tuple[str, str], cfg: CfgRunner
) -> None:
    """Errors that need the site's configuration changed: only on a throw-away site."""
    student_id, student_client = _student(client, recorder)
    _maintenance_errors(client, student_client, recorder, cfg)
    _upgrade_errors(client, recorder, cfg)
    _protocol_errors(client, recorder, admin, cfg)
    client.users.delete([student_id])


def _student(client: MoodleClient, recorder: RecordingTransport) -> tuple[int, MoodleClient]:
    """A non-admin user and a client with its token: admins keep access in maintenance mode."""
    found = client.users.get_by_field("username", [f"{PREFIX}-student"])
    if found:  # left behind by an interrupted run
        client.users.delete([found[0].id])
    (student,) = client.users.create(
        [
            UserCreate(
                username=f"{PREFIX}-student",
                password=USER_PASSWORD,
                firstname="Rec",
                lastname="Student",
                email=f"{PREFIX}-student@example.invalid",
            )
        ]
    )
    token = request_token(client.url, f"{PREFIX}-student", USER_PASSWORD)
    return student.id, MoodleClient(client.url, token, transport=recorder, sleep=_no_sleep)


def _maintenance_errors(
    client: MoodleClient, student: MoodleClient, recorder: RecordingTransport, cfg: CfgRunner
) -> None:
    cfg("maintenance_enabled", "1")
    try:
        with recorder.label("error_maintenance"):
            _expect_error(lambda: student.call("core_webservice_get_site_info"))
        with recorder.label("token_maintenance"):
            _expect_error(
                lambda: request_token(
                    client.url, f"{PREFIX}-student", USER_PASSWORD, transport=recorder
                )
            )
    finally:
        cfg("maintenance_enabled", "0")
    cfg.cli(["maintenance.php", "--enable"])
    try:
        with recorder.label("error_cli_maintenance"):
            _expect_error(lambda: client.call("core_webservice_get_site_info"))
    finally:
        cfg.cli(["maintenance.php", "--disable"])


def _upgrade_errors(client: MoodleClient, recorder: RecordingTransport, cfg: CfgRunner) -> None:
    # While the flag is set Moodle's CLI refuses to run too (cfg.php cannot unset
    # it), so it is set to expire shortly: lib/setup.php clears an expired flag.
    expires = int(time.time()) + 20
    cfg("upgraderunning", str(expires))
    with recorder.label("error_upgrade_running"):
        _expect_error(lambda: client.call("core_webservice_get_site_info"))
    time.sleep(max(0, expires - time.time()) + 2)
    # An upgrade pending (code newer than the database): Moodle's web-service
    # server does not check for it, so the call is answered as usual.  Recorded
    # to show exactly that; the client cannot tell and says so in its docs.
    version = str(client.site_info()["version"])
    cfg("version", str(int(float(version)) - 1))
    try:
        with recorder.label("upgrade_pending_answers"):
            client.call("core_webservice_get_site_info")
    finally:
        cfg("version", version)


def _protocol_errors(
    client: MoodleClient, recorder: RecordingTransport, admin: tuple[str, str], cfg: CfgRunner
) -> None:
    cfg("webserviceprotocols", "")
    try:
        with recorder.label("error_rest_disabled"):
            _expect_error(lambda: client.call("core_webservice_get_site_info"))
    finally:
        cfg("webserviceprotocols", "rest")
    cfg("enablewebservices", "0")
    try:
        with recorder.label("error_webservices_disabled"):
            _expect_error(lambda: client.call("core_webservice_get_site_info"))
        with recorder.label("token_webservices_disabled"):
            _expect_error(lambda: request_token(client.url, admin[0], admin[1], transport=recorder))
    finally:
        cfg("enablewebservices", "1")


class CfgRunner:
    """Changes a sandbox's configuration through Moodle's own CLI scripts."""

    def __init__(self, code_dir: Path, log: Path) -> None:
        from moodle_regress.sandbox.codetree import inspect_tree

        self.tree = inspect_tree(code_dir)
        self.log = log

    def __call__(self, name: str, value: str | None) -> None:
        args = (
            [f"--name={name}", "--unset"] if value is None else [f"--name={name}", f"--set={value}"]
        )
        self.cli(["cfg.php", *args])

    def cli(self, argv: list[str]) -> None:
        from moodle_regress.sandbox import moodle

        moodle.run_cli(self.tree, argv[0], argv[1:], log=self.log, what=" ".join(argv))


# --- driver ---------------------------------------------------------------------


def record_site(
    url: str,
    token: str,
    admin: tuple[str, str],
    *,
    out: Path,
    scrub: list[tuple[str, str]],
    cfg: CfgRunner | None,
) -> Path:
    probe = MoodleClient(url, token)
    info = probe.site_info()
    probe.close()
    release = "{}.{}".format(*divmod(release_branch(str(info["release"])), 100))
    target = out / release
    runs: list[tuple[str, str, Callable[[MoodleClient, RecordingTransport], None]]] = [
        (
            "typed.json",
            "CRUD through every typed area (tests/record_fixtures.py scenario_typed)",
            _typed,
        ),
        (
            "errors.json",
            "errors a client can cause (scenario_client_errors)"
            + (" and site-configuration errors (scenario_site_errors)" if cfg else ""),
            lambda c, r: _errors(c, r, admin, cfg),
        ),
    ]
    for filename, note, run in runs:
        recorder = RecordingTransport(
            RequestsTransport(),
            site_url=url,
            release=release,
            moodle_release=str(info["release"]),
            moodle_version=str(info["version"]),
            scrub=scrub,
        )
        recorder.recording.note = note
        client = MoodleClient(url, token, transport=recorder, sleep=_no_sleep)
        run(client, recorder)
        recorder.recording.save(target / filename)
        print(f"{target / filename}: {len(recorder.recording.calls)} calls", file=sys.stderr)
    return target


def _typed(client: MoodleClient, recorder: RecordingTransport) -> None:
    scenario_typed(client, recorder.label)


def _errors(
    client: MoodleClient,
    recorder: RecordingTransport,
    admin: tuple[str, str],
    cfg: CfgRunner | None,
) -> None:
    scenario_client_errors(client, recorder, admin)
    if cfg is not None:
        scenario_site_errors(client, recorder, admin, cfg)


@contextmanager
def own_sandbox(release: str, *, home: Path | None, keep: bool) -> Iterator[Any]:
    """A throw-away sandbox under a private state directory (``home`` reuses one)."""
    from moodle_regress.config import load_settings
    from moodle_regress.sandbox.manager import SandboxManager

    code = load_settings().code_tree(release)
    if code is None:
        raise SystemExit(f"no code tree configured for {release}: see README.md, 'Live tests'")
    home = home or Path(tempfile.mkdtemp(prefix="moodle-ws-rec-"))
    os.environ["MOODLE_REGRESS_HOME"] = str(home)
    manager = SandboxManager(load_settings())
    name = f"rec-{release.replace('.', '-')}"
    box = manager.sandbox(name)
    try:
        descriptor = box.start() if box.exists() else manager.up(name, code)
        yield box, descriptor
    finally:
        if keep:
            print(f"kept: --home {home}", file=sys.stderr)
            box.stop()
        elif box.exists():
            box.destroy()


# --- course content --------------------------------------------------------------------

#: Courses of the small plan whose content the offline tests replay.
CONTENT_COURSES = ("MR-S001", "MR-S004")
CONTENT_USERS = ("mr-student0001", "mr-student0002", "mr-teacher001")
#: A course of the site's own in the sample's recording: not seeded, no ``mr-`` idnumber.
OWN_COURSE = "HIST-101"


def record_content(site: Any, *, out: Path) -> Path:
    """The small plan with its content on ``site`` (made if missing: the site must be a
    test site), then the content observer over two of its courses, recorded
    (``observe-content.json``), and what ``content.php`` reads of their question banks
    (``question-banks.json``: no web-service function lists questions)."""
    from moodle_regress.observe import ApiObserver
    from moodle_regress.observe.questions import question_bank_reader
    from moodle_regress.resources import packaged_plan
    from moodle_regress.seeding import apply_dataset, generate, installed_formats, local_site
    from moodle_regress.seeding.plan import load_plan

    plan = load_plan(packaged_plan("small"))
    local = local_site(site)
    with site.client(timeout=600) as client:
        data = generate(plan, 0, installed_formats=installed_formats(client, local))
        apply_dataset(client, data, local=local)
        info = client.site_info()
    release, recorder = _site_recorder(site, info)
    recorder.recording.note = (
        f"ApiObserver with content over {', '.join(CONTENT_COURSES)} of the small plan "
        "(tests/record_fixtures.py record_content)"
    )

    def accept(kind: str, record: Any) -> bool:
        if kind == "course":
            return record.get("shortname") in CONTENT_COURSES
        return record.get("username") in CONTENT_USERS

    client = MoodleClient(site.url, site.token.get_secret_value(), transport=recorder)
    with recorder.label("observe"):
        ApiObserver(client, entity_filter=accept).observe()
    target = out / release
    recorder.recording.save(target / "observe-content.json")
    reader = question_bank_reader(site)
    if reader is not None:
        banks = {
            "release": release,
            "moodle_release": str(info["release"]),
            "note": "php/content.php action banks over "
            f"{', '.join(CONTENT_COURSES)} (tests/record_fixtures.py record_content)",
            "answer": reader(list(CONTENT_COURSES)),
        }
        (target / "question-banks.json").write_text(json.dumps(banks, indent=1) + "\n")
    print(f"{target}: content recorded ({len(recorder.recording.calls)} calls)", file=sys.stderr)
    return target


def record_sample(site: Any, *, out: Path) -> Path:
    """The small plan on ``site`` (made if missing: a test site) and a course of the
    site's own, then the site sampled for the suites and the sampled accounts opened,
    recorded (``site-sample.json``)."""
    from moodle_regress.resources import packaged_plan
    from moodle_regress.seeding import apply_dataset, generate, installed_formats, local_site
    from moodle_regress.seeding.plan import load_plan
    from moodle_regress.seeding.sample import open_sampled_accounts, sample_site

    plan = load_plan(packaged_plan("small"))
    local = local_site(site)
    with site.client(timeout=600) as client:
        data = generate(plan, 0, installed_formats=installed_formats(client, local))
        apply_dataset(client, data, local=local)
        if not client.courses.get_by_field("shortname", OWN_COURSE):
            client.courses.create(
                [CourseCreate(fullname="History of the site", shortname=OWN_COURSE, categoryid=1)]
            )
        info = client.site_info()
    release, recorder = _site_recorder(site, info)
    recorder.recording.note = (
        f"sample_site and open_sampled_accounts on the small plan and {OWN_COURSE}, a course "
        "of the site's own (tests/record_fixtures.py record_sample)"
    )
    client = MoodleClient(site.url, site.token.get_secret_value(), transport=recorder)
    with recorder.label("sample"):
        open_sampled_accounts(client, sample_site(client, 0), allow_writes=False)
    target = out / release / "site-sample.json"
    recorder.recording.save(target)
    print(f"{target}: {len(recorder.recording.calls)} calls recorded", file=sys.stderr)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--release", help="bring up a throw-away sandbox of this release")
    group.add_argument("--site", help="a site descriptor, sandbox name or URL (no config changes)")
    group.add_argument(
        "--content-site",
        help="a sandbox: seed the small plan's content there if missing, record its observation",
    )
    group.add_argument(
        "--sample-site",
        help="a sandbox: seed the small plan if missing, record the suites' sample of it",
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--home", type=Path, help="reuse the sandbox kept under this directory")
    parser.add_argument("--keep", action="store_true", help="keep the sandbox (stopped)")
    args = parser.parse_args(argv)
    if args.sample_site:
        from moodle_regress.site import resolve_site

        record_sample(resolve_site(args.sample_site), out=args.out)
        return 0
    if args.content_site:
        from moodle_regress.site import resolve_site

        record_content(resolve_site(args.content_site), out=args.out)
        return 0
    if args.site:
        from moodle_regress.site import resolve_site

        site = resolve_site(args.site)
        if site.admin_username is None or site.admin_password is None:
            raise SystemExit(f"{args.site}: the descriptor has no admin credentials")
        admin = (site.admin_username, site.admin_password.get_secret_value())
        scrub = _scrub_paths(site)
        record_site(
            site.url, site.token.get_secret_value(), admin, out=args.out, scrub=scrub, cfg=None
        )
        return 0
    with own_sandbox(args.release, home=args.home, keep=args.keep) as (box, site):
        assert site.admin_password is not None
        admin = (site.admin_username or "admin", site.admin_password.get_secret_value())
        cfg = CfgRunner(box.code_dir, box.logs / "record.log")
        record_site(
            site.url,
            site.token.get_secret_value(),
            admin,
            out=args.out,
            scrub=_scrub_paths(site),
            cfg=cfg,
        )
    return 0


def _site_recorder(site: Any, info: dict[str, Any]) -> tuple[str, RecordingTransport]:
    """The release (``4.5``) of a sandbox and a recorder of its answers."""
    release = "{}.{}".format(*divmod(release_branch(str(info["release"])), 100))
    recorder = RecordingTransport(
        RequestsTransport(),
        site_url=site.url,
        release=release,
        moodle_release=str(info["release"]),
        moodle_version=str(info["version"]),
        scrub=_scrub_paths(site),
    )
    return release, recorder


def _scrub_paths(site: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if site.sandbox is not None:
        pairs += [
            (str(site.sandbox.dataroot), "[dataroot]"),
            (str(site.sandbox.code_dir), "[dirroot]"),
            (str(site.sandbox.root), "[sandbox]"),
        ]
    pairs.append((str(Path.home()), "[home]"))
    return pairs


if __name__ == "__main__":
    sys.exit(main())
