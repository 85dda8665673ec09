"""Students' work on a site whose code the tool cannot run: through web services.

Activities cannot be made there (no web-service function creates one), but where the
plan's activities exist (found by their ``mr-<tag>-`` ID numbers) the work students
and teachers do in them can be, as they would do it, each with their own token
(``login/token.php`` for the mobile service, with the plan's passwords):

- forum discussions and replies: ``mod_forum_add_discussion``,
  ``mod_forum_add_discussion_post`` (as the author);
- assignment submissions: ``mod_assign_save_submission`` and
  ``mod_assign_submit_for_grading`` (as the student); grades with feedback:
  ``mod_assign_save_grade`` (as the admin);
- choice answers: ``mod_choice_submit_choice_response`` (as the student);
- completion: ``core_completion_update_activity_completion_status_manually``, or the
  module's view function where viewing completes it (as the student).

Not made, with a note: quiz attempts (answering means filling the question forms of
``mod_quiz_get_attempt_data``, which the tool does not do) and gradebook overrides
(no web-service function overrides a grade).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from moodle_regress.seeding.apply import StepCount, Summary
from moodle_regress.seeding.content import Content
from moodle_regress.seeding.generate import DEFAULT_PASSWORD, Dataset
from moodle_regress.seeding.tags import tagged
from moodle_ws import MoodleError
from moodle_ws.client import MoodleClient

log = logging.getLogger(__name__)

MOBILE_SERVICE = "moodle_mobile_app"
#: The view function of each module and the name of its instance parameter.
VIEW_FUNCTIONS: dict[str, tuple[str, str]] = {
    "assign": ("mod_assign_view_assign", "assignid"),
    "bigbluebuttonbn": ("mod_bigbluebuttonbn_view_bigbluebuttonbn", "bigbluebuttonbnid"),
    "book": ("mod_book_view_book", "bookid"),
    "chat": ("mod_chat_view_chat", "chatid"),
    "choice": ("mod_choice_view_choice", "choiceid"),
    "data": ("mod_data_view_database", "databaseid"),
    "feedback": ("mod_feedback_view_feedback", "feedbackid"),
    "folder": ("mod_folder_view_folder", "folderid"),
    "forum": ("mod_forum_view_forum", "forumid"),
    "glossary": ("mod_glossary_view_glossary", "id"),
    "h5pactivity": ("mod_h5pactivity_view_h5pactivity", "h5pactivityid"),
    "imscp": ("mod_imscp_view_imscp", "imscpid"),
    "lesson": ("mod_lesson_view_lesson", "lessonid"),
    "lti": ("mod_lti_view_lti", "toolid"),
    "page": ("mod_page_view_page", "pageid"),
    "quiz": ("mod_quiz_view_quiz", "quizid"),
    "resource": ("mod_resource_view_resource", "resourceid"),
    "scorm": ("mod_scorm_view_scorm", "scormid"),
    "survey": ("mod_survey_view_survey", "surveyid"),
    "url": ("mod_url_view_url", "urlid"),
    "wiki": ("mod_wiki_view_wiki", "wikiid"),
    "workshop": ("mod_workshop_view_workshop", "workshopid"),
}
#: Extra parameters some view functions require.
VIEW_EXTRA: dict[str, dict[str, Any]] = {"glossary": {"mode": "letter"}}

NOT_BY_WS = {
    "quiz_attempts": "quiz attempts are not made through web services (answering means "
    "filling the question forms mod_quiz_get_attempt_data returns)",
    "grade_overrides": "gradebook overrides are not made: no web-service function "
    "overrides a grade",
}

Login = Callable[[str, str], MoodleClient]


def view_activity(client: MoodleClient, modname: str, instance: int) -> Any:
    """Call the module's view function (what the Moodle app does on opening it)."""
    function, parameter = VIEW_FUNCTIONS[modname]
    params: dict[str, Any] = {parameter: instance, **VIEW_EXTRA.get(modname, {})}
    return client.call_params(function, params)


class RemoteWork:
    """The plan's students' work made through web services (see the module docstring)."""

    def __init__(
        self,
        client: MoodleClient,
        data: Dataset,
        content: Content,
        summary: Summary,
        login: Login | None = None,
    ) -> None:
        self.client = client
        self.data = data
        self.content = content
        self.summary = summary
        self.passwords = {u.username: u.password or DEFAULT_PASSWORD for u in data.users}
        self._login = login or (
            lambda user, password: MoodleClient.login(
                client.url, user, password, service=MOBILE_SERVICE
            )
        )
        self._clients: dict[str, MoodleClient] = {}
        #: plan activity key -> (cmid, instance, modname, completion tracking)
        self.activities: dict[str, tuple[int, int, str, int]] = {}

    # --- helpers ---------------------------------------------------------------------

    def count(self, step: str, what: str, amount: int = 1) -> None:
        counts = self.summary.steps.setdefault(step, StepCount())
        setattr(counts, what, getattr(counts, what) + amount)

    def as_user(self, username: str) -> MoodleClient:
        if username not in self._clients:
            self._clients[username] = self._login(username, self.passwords.get(username, ""))
        return self._clients[username]

    def find_activities(self) -> None:
        """The plan's activities on the site, by their tagged ID numbers."""
        wanted = {tagged(self.data.tag, a.key): a.key for a in self.content.activities}
        for shortname in self.content.courses():
            found = self.client.courses.get_by_field("shortname", shortname)
            if not found:
                continue
            sections = self.client.call("core_course_get_contents", courseid=found[0].id)
            modules = [m for s in sections for m in s.get("modules") or []]
            answers = self.client.map_concurrently(
                lambda m: self.client.call("core_course_get_course_module", cmid=m["id"]),
                modules,
            )
            for answer in answers:
                cm = answer["cm"]
                key = wanted.get(str(cm.get("idnumber") or ""))
                if key is not None:
                    self.activities[key] = (
                        int(cm["id"]),
                        int(cm["instance"]),
                        str(cm["modname"]),
                        int(cm.get("completion") or 0),
                    )

    def missing(self, step: str, key: str) -> bool:
        if key in self.activities:
            return False
        self.count(step, "unavailable")
        return True

    # --- the work --------------------------------------------------------------------

    def run(self) -> None:
        if not self.activities:
            self.find_activities()
        self.posts()
        self.submissions()
        self.grades()
        self.responses()
        self.completions()
        for step, items in (
            ("quiz_attempts", self.content.attempts),
            ("grade_overrides", self.content.overrides),
        ):
            if items:
                self.count(step, "unavailable", len(items))
                self.summary.notes.append(f"{len(items)} {NOT_BY_WS[step]}")
        for client in self._clients.values():
            client.close()

    def posts(self) -> None:
        step = "forum_posts"
        subjects: dict[int, set[str]] = {}
        for d in self.content.discussions:
            if self.missing(step, d.forum):
                continue
            _, forumid, _, _ = self.activities[d.forum]
            if forumid not in subjects:
                found = self.client.call("mod_forum_get_forum_discussions", forumid=forumid)
                subjects[forumid] = {str(x["name"]) for x in found.get("discussions") or []}
            if d.subject in subjects[forumid]:
                self.count(step, "existing", 1 + len(d.replies))
                continue
            made = self.as_user(d.user).call(
                "mod_forum_add_discussion", forumid=forumid, subject=d.subject, message=d.message
            )
            discussion = int(made["discussionid"])
            posts = self.as_user(d.user).call(
                "mod_forum_get_discussion_posts", discussionid=discussion
            )
            first = min(int(p["id"]) for p in posts["posts"])
            for user, message in d.replies:
                self.as_user(user).call(
                    "mod_forum_add_discussion_post",
                    postid=first,
                    subject=f"Re: {d.subject}",
                    message=message,
                )
            self.count(step, "created", 1 + len(d.replies))

    def _user_ids(self, usernames: Sequence[str]) -> dict[str, int]:
        found = self.client.users.get_by_field("username", sorted(set(usernames)))
        return {str(u.username): u.id for u in found}

    def submissions(self) -> None:
        step = "assign_submissions"
        done = self._submitted()
        for s in self.content.submissions:
            if self.missing(step, s.assign):
                continue
            _, assignid, _, _ = self.activities[s.assign]
            if (assignid, s.user) in done:
                self.count(step, "existing")
                continue
            student = self.as_user(s.user)
            student.call(
                "mod_assign_save_submission",
                assignmentid=assignid,
                plugindata={"onlinetext_editor": {"text": s.text, "format": 1, "itemid": 0}},
            )
            if s.submitted:
                student.call(
                    "mod_assign_submit_for_grading",
                    assignmentid=assignid,
                    acceptsubmissionstatement=1,
                )
            self.count(step, "created")

    def _submitted(self) -> set[tuple[int, str]]:
        ids = sorted(
            {
                self.activities[s.assign][1]
                for s in self.content.submissions
                if s.assign in self.activities
            }
        )
        if not ids:
            return set()
        names = {
            v: k for k, v in self._user_ids([s.user for s in self.content.submissions]).items()
        }
        answer = self.client.call("mod_assign_get_submissions", assignmentids=ids)
        return {
            (int(a["assignmentid"]), names.get(int(s["userid"]), ""))
            for a in answer.get("assignments") or []
            for s in a.get("submissions") or []
            if s.get("status") not in (None, "new")
        }

    def grades(self) -> None:
        step = "assign_grades"
        users = self._user_ids([g.user for g in self.content.grades])
        graded = self._graded(users)
        for g in self.content.grades:
            if self.missing(step, g.assign) or g.user not in users:
                continue
            _, assignid, _, _ = self.activities[g.assign]
            if (assignid, users[g.user]) in graded:
                self.count(step, "existing")
                continue
            self.client.call(
                "mod_assign_save_grade",
                assignmentid=assignid,
                userid=users[g.user],
                grade=g.grade,
                attemptnumber=-1,
                addattempt=0,
                workflowstate="",
                applytoall=0,
                plugindata={"assignfeedbackcomments_editor": {"text": g.feedback, "format": 1}},
            )
            self.count(step, "created")

    def _graded(self, users: Mapping[str, int]) -> set[tuple[int, int]]:
        ids = sorted(
            {
                self.activities[g.assign][1]
                for g in self.content.grades
                if g.assign in self.activities
            }
        )
        if not ids:
            return set()
        answer = self.client.call("mod_assign_get_grades", assignmentids=ids)
        return {
            (int(a["assignmentid"]), int(g["userid"]))
            for a in answer.get("assignments") or []
            for g in a.get("grades") or []
            if float(g.get("grade") or -1) >= 0
        }

    def responses(self) -> None:
        step = "choice_responses"
        for r in self.content.responses:
            if self.missing(step, r.choice):
                continue
            _, choiceid, _, _ = self.activities[r.choice]
            student = self.as_user(r.user)
            options = student.call("mod_choice_get_choice_options", choiceid=choiceid)["options"]
            if any(o.get("checked") for o in options):
                self.count(step, "existing")
                continue
            (option,) = [int(o["id"]) for o in options if o.get("text") == r.option]
            student.call("mod_choice_submit_choice_response", choiceid=choiceid, responses=[option])
            self.count(step, "created")

    def completions(self) -> None:
        step = "completions"
        for c in self.content.completions:
            if self.missing(step, c.activity):
                continue
            cmid, instance, modname, tracking = self.activities[c.activity]
            student = self.as_user(c.user)
            try:
                if tracking == 1:
                    student.call(
                        "core_completion_update_activity_completion_status_manually",
                        cmid=cmid,
                        completed=1,
                    )
                elif modname in VIEW_FUNCTIONS:
                    view_activity(student, modname, instance)
                else:
                    self.count(step, "unavailable")
                    continue
            except MoodleError as exc:
                log.info("completion of %s by %s: %s", c.activity, c.user, exc)
                self.count(step, "unavailable")
                continue
            self.count(step, "created")
