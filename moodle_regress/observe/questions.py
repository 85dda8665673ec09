"""Observation area ``questions``: each course's question bank.

No web-service function lists a bank's questions.  On a sandbox, ``php/content.php``
(action ``banks``) reads them with Moodle's own API; on any other site the snapshot's
notes say they were not observed.  A category's natural key is its path below the
bank's top (unchanged when Moodle 5.0 moves a course's bank into a qbank activity);
a question's is its ID number, or its name.

===========================================  ========================================
``questions/<C>/bank``                       where the bank lives: the course, or a
                                             module (its type, name, qbank type)
``questions/<C>/<category path>/category``   ID number and description
``questions/<C>/<category path>/<Q>``        name, type, versions, status, mark,
                                             hash of the question text
===========================================  ========================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from moodle_regress.observation import make_key
from moodle_regress.phprun import run_php_script

if TYPE_CHECKING:
    from moodle_regress.site import SiteDescriptor

Fact = tuple[str, Any]

NOTE_REMOTE = (
    "question banks not observed: no web-service function lists questions (a sandbox's "
    "are read through its code)"
)


def bank_facts(course: str, banks: Sequence[Mapping[str, Any]]) -> list[Fact]:
    """Facts of one course's banks, from ``content.php``'s ``banks`` answer."""
    facts: list[Fact] = []
    where = [dict(bank.get("where") or {}) for bank in banks]
    facts.append((make_key("questions", course, "bank"), where))
    for bank in banks:
        for category in bank.get("categories") or []:
            path = str(category.get("path") or "?")
            facts.append(
                (
                    make_key("questions", course, path, "category"),
                    {"idnumber": category.get("idnumber"), "info": category.get("info")},
                )
            )
            for key, question in sorted((category.get("questions") or {}).items()):
                facts.append((make_key("questions", course, path, key), question))
    return facts


def question_bank_reader(
    descriptor: SiteDescriptor,
) -> Callable[[list[str]], Mapping[str, Any]] | None:
    """For a sandbox, a reader of its courses' banks (and its modules) through
    ``php/content.php``; None for any other site (their banks are not observed)."""
    sandbox = descriptor.sandbox
    if sandbox is None:
        return None
    code_dir, log = sandbox.code_dir, sandbox.root / "logs" / "observe.log"

    def read(shortnames: list[str]) -> Mapping[str, Any]:
        payload = {"action": "banks", "courses": shortnames}
        return dict(run_php_script(code_dir, "content.php", payload, log=log))

    return read
