"""The upgrade rehearsal, end to end, and the comparison of two live sites.

A rehearsal runs these stages, each timed and shown as it goes:

0. ``preflight``: will the upgrade work (a blocker stops here unless ``--force``);
1. ``up``: a sandbox from code tree A;
2. ``seed``: the plan's data (and the ad hoc tasks it queued);
3. ``observe A``: a snapshot through the web services and of the web-service contract
   (from A's code), and the suites (API and/or browser) recording their observations;
4. ``upgrade``: the preflight again, then Moodle's upgrade to code tree B; the sandbox
   takes a backup first; 4b. the ad hoc tasks the upgrade queued;
5. ``schema``: B's database against a fresh install of code tree B (the ``schema``
   area) and its rows per table (the ``data`` area; A's were read at the end of
   stage 3), see :mod:`moodle_regress.integrity`;
6. ``observe B``: the same, the suites now comparing with A's observations;
7. ``report``: A against B, contract changes classified and every difference matched
   to B's upgrade notes, everything in one HTML report, JSON and allure results;
8. ``restore``: the backup into a fresh sandbox, observed again: it must equal A,
   rows per table included.

Data flows one way: plan -> seed -> observe -> snapshot -> compare -> report.  When
the upgrade fails, the rehearsal still writes what it did, restores the backup and
proves site A is back.  :func:`compare_sites` runs stages 2, 3, 6 and 7 against two
live sites.

The parts: :mod:`.stages` (the stages and their display), :mod:`.suites` (suite
runs), :mod:`.pipeline` (seed, observe, report: shared by both jobs),
:mod:`.upgrade` (the rehearsal), :mod:`.two_sites` (two live sites),
:mod:`.result` (the outcome and its summary).
"""

from moodle_regress.rehearsal.result import RehearsalError, RehearsalResult, print_summary
from moodle_regress.rehearsal.suites import SUITES
from moodle_regress.rehearsal.two_sites import compare_sites
from moodle_regress.rehearsal.upgrade import RehearsalOptions, rehearse

__all__ = [
    "SUITES",
    "RehearsalError",
    "RehearsalOptions",
    "RehearsalResult",
    "compare_sites",
    "print_summary",
    "rehearse",
]
