"""The web-service surface the tool and common integrations rely on.

Each group names functions an integration calls; all of them exist on every
supported release (4.5, 5.0, 5.1), so a missing one fails the test, and each one's
presence is recorded, so that an upgrade that drops one shows in the comparison.
The admin token's service is checked for the tool, LTI and SIS groups; the mobile
app's group is checked in the mobile service itself, through a student's own token
(``login/token.php?service=moodle_mobile_app``), whose site info lists exactly the
functions that service offers.  The mobile service's full list is recorded too:
functions Moodle adds to or removes from it are what an app user meets first.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from moodle_regress.observe import OBSERVER_FUNCTIONS
from moodle_regress.pytest_recording import TestObservations
from moodle_regress.seeding import Dataset
from moodle_regress.suites.api.conftest import courses_of_user, lacking, password_of
from moodle_ws import MoodleClient

#: What this tool itself calls: the observer, the seeder and these suites.
TOOL = (
    *OBSERVER_FUNCTIONS,
    "core_get_component_strings",
    "core_user_create_users",
    "core_user_update_users",
    "core_user_delete_users",
    "core_user_get_users_by_field",
    "core_course_create_courses",
    "core_course_update_courses",
    "core_course_delete_courses",
    "core_course_get_courses_by_field",
    "core_course_create_categories",
    "core_courseformat_update_course",
    "core_courseformat_get_state",
    "core_update_inplace_editable",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "enrol_self_get_instance_info",
    "enrol_guest_get_instance_info",
    "core_group_create_groups",
    "core_group_add_group_members",
    "core_cohort_create_cohorts",
    "core_cohort_add_cohort_members",
)

#: The Moodle app's first screens: site, login config, courses, contents, dashboard.
MOBILE_APP = (
    "core_webservice_get_site_info",
    "tool_mobile_get_config",
    "tool_mobile_get_public_config",
    "tool_mobile_get_autologin_key",
    "core_enrol_get_users_courses",
    "core_enrol_get_course_enrolment_methods",
    "enrol_self_enrol_user",
    "enrol_self_get_instance_info",
    "enrol_guest_get_instance_info",
    "core_course_get_contents",
    "core_course_get_courses_by_field",
    "core_course_view_course",
    "core_course_get_enrolled_courses_by_timeline_classification",
    "core_user_get_users_by_field",
    "core_block_get_dashboard_blocks",
    "core_calendar_get_action_events_by_timesort",
    "core_message_get_conversations",
    "message_popup_get_popup_notifications",
    "core_completion_get_activities_completion_status",
    "gradereport_user_get_grade_items",
    "mod_assign_get_assignments",
    "mod_forum_get_forums_by_courses",
)

#: An LTI tool consumer's administration and launches (mod_lti).
LTI = (
    "mod_lti_get_tool_launch_data",
    "mod_lti_get_ltis_by_courses",
    "mod_lti_get_tool_types",
    "mod_lti_create_tool_type",
    "mod_lti_update_tool_type",
    "mod_lti_delete_tool_type",
)

#: A student information system syncing people, courses and enrolments.
SIS_SYNC = (
    "core_user_create_users",
    "core_user_update_users",
    "core_user_get_users_by_field",
    "core_user_delete_users",
    "core_course_create_courses",
    "core_course_update_courses",
    "core_course_get_courses_by_field",
    "core_course_create_categories",
    "core_course_get_categories",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_enrol_get_enrolled_users",
    "core_role_assign_roles",
    "core_role_unassign_roles",
    "core_cohort_create_cohorts",
    "core_cohort_add_cohort_members",
    "core_cohort_delete_cohort_members",
    "core_group_create_groups",
    "core_group_add_group_members",
    "core_group_delete_group_members",
)

GROUPS = {"tool": TOOL, "lti": LTI, "sis-sync": SIS_SYNC}


def offered(client: MoodleClient) -> set[str]:
    return {str(f["name"]) for f in client.site_info().get("functions") or []}


@pytest.fixture(scope="module")
def student_client(
    seeded_dataset: Dataset, user_client: Callable[..., MoodleClient]
) -> MoodleClient:
    """A seeded student's own client, through the mobile service."""
    for user in seeded_dataset.users:
        if user.role_hint == "student" and courses_of_user(seeded_dataset, user.username):
            return user_client(user.username, password_of(seeded_dataset, user.username))
    lacking(seeded_dataset, "enrolled student")


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_integration_functions_are_offered(
    group: str, moodle_client: MoodleClient, observe: TestObservations
) -> None:
    functions = GROUPS[group]
    present = offered(moodle_client)
    for function in functions:
        observe("webservice", function, group, value=function in present)
    missing = sorted(set(functions) - present)
    assert not missing, f"the admin token's service lacks {group} functions: {missing}"


def test_mobile_service_offers_the_app_functions(
    student_client: MoodleClient, observe: TestObservations
) -> None:
    present = offered(student_client)
    for function in MOBILE_APP:
        observe("webservice", function, "mobile-app", value=function in present)
    missing = sorted(set(MOBILE_APP) - present)
    assert not missing, f"the mobile service lacks functions the app needs: {missing}"


def test_mobile_service_function_list(
    student_client: MoodleClient, observe: TestObservations
) -> None:
    present = offered(student_client)
    # The mobile service has hundreds of functions on every supported release.
    assert len(present) > 200
    info = student_client.site_info()
    assert not info.get("userissiteadmin")
    for function in sorted(present):
        observe("webservice", function, "in-mobile-service", value=True)
