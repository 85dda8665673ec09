"""Observing a site through its web services: every registered area, or a selection.

Which entities: those the entity filter accepts (by default, ``idnumber`` starting
``mr-``: everything the seeder made) and the site as a whole.  The areas and their
keys are described in their modules (``site``, ``webservice``, ``courses``,
``enrolments``, ``users``, ``groups``, ``themes``, ``api``); the scheduler runs their
calls concurrently on the client's pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress

from moodle_regress.guard import made_by_the_suites
from moodle_regress.observation import Observation
from moodle_regress.observe.content import CONTENT, QUESTION_BANKS, USERS_PER_COURSE
from moodle_regress.observe.local_reads import LocalReads
from moodle_regress.observe.registry import Collector, Context, EntityFilter, select
from moodle_regress.observe.registry import areas as all_areas
from moodle_regress.observe.scheduler import Scheduler
from moodle_regress.site import SiteDescriptor
from moodle_regress.snapshot import Snapshot, SnapshotMeta, SnapshotWriter, public_url
from moodle_ws import MoodleClient


def prefix_filter(prefix: str = "mr-") -> EntityFilter:
    """Entities whose ``idnumber`` starts with ``prefix`` (``mr-<tag>-`` for one run)."""

    def accept(_kind: str, record: Mapping[str, Any]) -> bool:
        return str(record.get("idnumber") or "").startswith(prefix)

    return accept


def all_entities(kind: str, record: Mapping[str, Any]) -> bool:
    """Every course but the front page, every user but the guest: a site's own, so not
    what the suites made for themselves (they run between the two snapshots)."""
    if kind == "course":
        return record.get("format") != "site" and not made_by_the_suites(
            str(record.get("shortname") or "")
        )
    if kind == "user":
        username = str(record.get("username") or "")
        return username != "guest" and not made_by_the_suites(username)
    return True


@dataclass
class ObservationRun:
    """What one observation of a site gave: its observations (none held when they
    went to a snapshot file as they were made), how many, and of which areas."""

    observations: list[Observation]
    meta: SnapshotMeta
    calls: int
    seconds: float
    count: int = 0
    areas: frozenset[str] = frozenset()

    def snapshot(self) -> Snapshot:
        return Snapshot(self.meta, self.observations)


CONTENT_AREA = CONTENT.area

#: Client timeout for observing: the site-wide reads are one call each (every user,
#: every course), and on a site of 20,000 users Moodle takes tens of seconds to
#: answer them, longer when busy (the large plan's snapshot failed at 30 s).
OBSERVE_TIMEOUT = 180.0


class ApiObserver:
    """Observes one site through ``client`` (an admin's token sees everything).

    ``areas`` selects areas by name (None: all); ``plugin_candidates`` names plugins
    worth probing (type -> names, e.g. a sandbox's code tree); ``code_dir`` is the
    site's code tree when it is local, for areas that run PHP against it; ``site``
    the site's descriptor and ``release_code`` a code tree of its release (for the
    contract of a site that is not a sandbox); PHP logs to ``php_log``.  Course
    content (``content``, see :mod:`.content`): ``question_banks`` reads a sandbox's
    banks, ``users_per_course`` bounds the per-student reads.  ``local_reads``: on a
    local site (``code_dir`` and ``site`` given), many reads of one function go to PHP
    in bulk (:mod:`.local_reads`), the same answers as through HTTP in a fraction of
    the time.
    """

    def __init__(
        self,
        client: MoodleClient,
        *,
        entity_filter: EntityFilter | None = None,
        concurrent: bool = True,
        max_workers: int | None = None,
        plugin_candidates: Mapping[str, Iterable[str]] | None = None,
        progress: Progress | None = None,
        areas: Sequence[str] | None = None,
        code_dir: Path | None = None,
        content: bool = True,
        question_banks: Callable[[list[str]], Mapping[str, Any]] | None = None,
        users_per_course: int | None = None,
        site: SiteDescriptor | None = None,
        release_code: Path | None = None,
        php_log: Path | None = None,
        local_reads: bool = True,
    ) -> None:
        self.ctx = Context(
            client=client,
            entity_filter=entity_filter or prefix_filter(),
            known_plugins={k: set(v) for k, v in (plugin_candidates or {}).items()},
            code_dir=code_dir,
            site=site,
            release_code=release_code,
            php_log=php_log,
        )
        if php_log is None and site is not None and site.sandbox is not None:
            php_log = site.sandbox.root / "logs" / "observe.log"
        self.ctx.php_log = php_log
        if local_reads and code_dir is not None and site is not None:
            self.ctx.local_reads = LocalReads(
                code_dir, site.token.get_secret_value(), self.offered_functions, log=php_log
            )
        self.ctx.facts[QUESTION_BANKS] = question_banks
        self.ctx.facts[USERS_PER_COURSE] = users_per_course
        if not content:  # course content has observations (and calls) of its own
            areas = [a for a in areas or all_areas() if a != CONTENT_AREA]
        self.steps, self.kept = select(areas)
        self.scheduler = Scheduler(
            self.ctx, concurrent=concurrent, max_workers=max_workers, progress=progress
        )

    def offered_functions(self) -> set[str]:
        """The functions the token's service offers (the site step has read them)."""
        return {str(f.get("name")) for f in self.ctx.info.get("functions") or []}

    def observe(self, into: SnapshotWriter | None = None) -> ObservationRun:
        """Observe the site; ``into``: write each observation to that snapshot file as
        it is made (its metadata set, the file written when it closes) instead of
        holding them, so a large site is observed without holding it whole."""
        started = time.perf_counter()
        out = Collector(self.ctx, sink=into.add if into is not None else None)
        self.scheduler.run(self.steps, self.kept, out)
        info = self.ctx.info
        meta = SnapshotMeta(
            site_name=str(info.get("sitename", "")),
            site_url=public_url(str(info.get("siteurl") or self.ctx.client.url)),
            release=self.ctx.release,
            version=str(info.get("version", "")),
            theme=str(info.get("theme", "")),
            notes=sorted(self.ctx.notes),
        )
        if into is not None:
            into.meta = meta
        seconds = time.perf_counter() - started
        return ObservationRun(
            out.items, meta, self.scheduler.calls, seconds, out.count, frozenset(out.areas)
        )
