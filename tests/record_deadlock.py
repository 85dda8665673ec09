"""Record Moodle's answer when MariaDB breaks a deadlock, for offline seeding tests.

    .venv/bin/python -m tests.record_deadlock live-4.5-mariadb

Against a sandbox on MariaDB: two scratch cohorts; a database session of ours locks
the second one, a web-service call updating both (one transaction) locks the first
and waits for the second; our session then asks for the first, and MariaDB breaks
the deadlock by rolling back the lighter transaction, the call's (ours has changed
more rows, all rolled back afterwards).  Moodle's answer is saved as
``fixtures/recordings/<release>/seeding-deadlock-mariadb.json``; the cohorts are
deleted.  The token and the site's host never reach the file.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from moodle_regress.config import load_settings
from moodle_regress.sandbox.db.mariadb import _args, _env
from moodle_regress.sandbox.manager import SandboxManager
from moodle_ws import MoodleClient, MoodleError
from moodle_ws.client import release_branch
from moodle_ws.testing import RecordingTransport
from moodle_ws.transport import RequestsTransport

OUT = Path(__file__).resolve().parent.parent / "fixtures" / "recordings"
PREFIX = "mr-lockrec"  # no "deadlock" in the names: the answer quotes them


class Session:
    """One ``mariadb`` client session, statements sent one by one."""

    def __init__(self, db: Any) -> None:
        self.process = subprocess.Popen(
            ["mariadb", *_args(db), "-D", db.name, "-N", "-B", "-n"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=_env(db),
        )

    def run(self, sql: str, marker: str) -> None:
        """Send ``sql`` and wait until it has run (or failed)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{sql}\nSELECT '{marker}';\n")
        self.process.stdin.flush()
        while (line := self.process.stdout.readline()) and line.strip() != marker:
            print(f"  session: {line.strip()}")

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("ROLLBACK;\n")
        self.process.stdin.close()
        self.process.wait(30)


def cohort(cohort_id: int, n: int) -> dict[str, Any]:
    return {
        "id": cohort_id,
        "name": f"{PREFIX} {n}",
        "idnumber": f"{PREFIX}-{n}",
        "categorytype": {"type": "system", "value": ""},
    }


def provoke(client: MoodleClient, rec: RecordingTransport, db: Any, ids: list[int]) -> bool:
    """One attempt; True when the web-service call was the deadlock's victim."""
    session = Session(db)
    table = f"{db.prefix}cohort"
    session.run(
        "SET SESSION innodb_lock_wait_timeout = 30; START TRANSACTION;"
        f" UPDATE {table} SET description = CONCAT(COALESCE(description, ''), '.')"
        f" WHERE id = {ids[1]};"
        f" INSERT INTO {db.prefix}cache_flags (flagtype, name, timemodified, value, expiry)"
        " SELECT 'mrlockrec', CONCAT('n', seq), 0, 'x', 0 FROM seq_1_to_300;",
        "locked",
    )
    answer: dict[str, Any] = {}

    def call() -> None:
        try:
            with rec.label("deadlock_update_cohorts"):
                client.call(
                    "core_cohort_update_cohorts",
                    cohorts=[cohort(ids[0], 1), cohort(ids[1], 2)],
                )
            answer["ok"] = True
        except MoodleError as exc:
            answer["error"] = exc

    caller = threading.Thread(target=call)
    caller.start()
    time.sleep(3)  # the call has locked the first cohort and waits for the second
    session.run(
        f"UPDATE {table} SET description = CONCAT(COALESCE(description, ''), '.')"
        f" WHERE id = {ids[0]};",
        "second",
    )
    caller.join(60)
    session.close()
    print(f"  answer: {answer}")
    return "error" in answer and "deadlock" in str(answer["error"]).lower()


def main(name: str) -> None:
    box = SandboxManager(load_settings(), quiet=True).get(name)
    state = box.state()
    if state.db.engine != "mariadb":
        sys.exit(f"{name} runs on {state.db.engine}, not MariaDB")
    descriptor = box.descriptor()
    release = "{}.{}".format(*divmod(release_branch(descriptor.release or ""), 100))
    rec = RecordingTransport(
        RequestsTransport(),
        site_url=descriptor.url,
        release=release,
        moodle_release=descriptor.release or "",
        scrub=[(str(box.root), "/sandbox")],
    )
    token = descriptor.token.get_secret_value()
    with MoodleClient(descriptor.url, token, transport=rec, timeout=120) as client:
        made = client.call(
            "core_cohort_create_cohorts",
            cohorts=[
                {
                    "categorytype": {"type": "system", "value": ""},
                    "name": f"{PREFIX} {n}",
                    "idnumber": f"{PREFIX}-{n}",
                }
                for n in (1, 2)
            ],
        )
        ids = [int(c["id"]) for c in made]
        try:
            for attempt in range(1, 6):
                rec.recording.calls.clear()
                print(f"attempt {attempt}")
                if provoke(client, rec, state.db, ids):
                    break
            else:
                sys.exit("the call was never the deadlock's victim")
            calls = [c for c in rec.recording.calls if c.label == "deadlock_update_cohorts"]
            rec.recording.calls[:] = calls
            rec.recording.note = (
                "core_cohort_update_cohorts (two cohorts, one transaction) rolled back by "
                "MariaDB to break a deadlock with another session (tests/record_deadlock.py)"
            )
            path = OUT / release / "seeding-deadlock-mariadb.json"
            rec.recording.save(path)
            print(f"saved {path}")
        finally:
            client.call("core_cohort_delete_cohorts", cohortids=ids)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "live-4.5-mariadb")
