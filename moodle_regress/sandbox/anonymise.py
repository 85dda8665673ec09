"""Anonymising an imported copy's people (``sandbox import --anonymise``), so that its
reports can be shared.

Every user but the site administrators and the guest gets fake names, username,
email, phone numbers and address (Faker, as the seeder's), the same fakes for the same
real user on every import: the fakes are seeded by a hash of the user's id and real
username, so two imports of one site (a rehearsal and its rerun) compare equal.  The
records are changed by ``php/anonymise.php`` through Moodle's own database layer, in
one transaction.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from faker import Faker

from moodle_regress.phprun import run_php_script
from moodle_regress.sandbox.codetree import CodeTree
from moodle_regress.sandbox.db import DatabaseConfig, query

#: The user fields that identify a person, emptied or faked.
CLEARED = ("alternatename", "middlename", "firstnamephonetic", "lastnamephonetic",
           "institution", "department", "description")  # fmt: skip


def fake_person(user_id: int, username: str, fake: Faker | None = None) -> dict[str, object]:
    """The fake fields of one user: the same for the same (id, username)."""
    fake = fake or Faker("en_US")
    digest = hashlib.sha256(f"moodle-regress:{user_id}:{username}".encode()).digest()
    fake.seed_instance(int.from_bytes(digest[:8], "big"))
    first, last = fake.first_name(), fake.last_name()
    # Moodle's usernames: lower case letters, digits and "._-@"; the id keeps them unique.
    handle = re.sub(r"[^a-z0-9.]", "", f"{first}.{last}".lower())
    person: dict[str, object] = {
        "id": user_id,
        "firstname": first,
        "lastname": last,
        "username": f"{handle}.{user_id}",
        "email": f"{handle}.{user_id}@example.com",
        "phone1": fake.numerify("+1 555 01## ###"),
        "phone2": "",
        "address": fake.street_address(),
        "city": fake.city(),
    }
    person.update(dict.fromkeys(CLEARED, ""))
    return person


def people_to_anonymise(db: DatabaseConfig) -> list[tuple[int, str]]:
    """(id, username) of every user but the site administrators and the guest."""
    p = db.prefix
    keep: set[int] = set()
    for (value,) in query(
        db, f"SELECT value FROM {p}config WHERE name IN ('siteadmins', 'siteguest')"
    ):
        keep.update(int(part) for part in str(value or "").split(",") if part.strip().isdigit())
    rows = query(db, f"SELECT id, username FROM {p}user ORDER BY id")
    return [(int(str(uid)), str(name)) for uid, name in rows if int(str(uid)) not in keep]


def anonymise(tree: CodeTree, db: DatabaseConfig, *, log: Path) -> int:
    """Replace the people of the site at ``tree`` (database ``db``) by fakes; how many."""
    fake = Faker("en_US")
    people = [fake_person(uid, name, fake) for uid, name in people_to_anonymise(db)]
    if not people:
        return 0
    done = run_php_script(tree.root, "anonymise.php", {"people": people}, log=log)
    return int(done["changed"])
