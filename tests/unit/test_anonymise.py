"""The fakes ``sandbox import --anonymise`` gives an imported site's people."""

from __future__ import annotations

from moodle_regress.sandbox.anonymise import CLEARED, fake_person


def test_the_same_user_gets_the_same_fake_on_every_import() -> None:
    assert fake_person(7, "jane.doe") == fake_person(7, "jane.doe")


def test_fakes_differ_between_users_and_keep_usernames_unique() -> None:
    people = [fake_person(uid, f"user{uid}") for uid in range(2, 302)]
    assert len({p["username"] for p in people}) == len(people)
    assert len({p["email"] for p in people}) == len(people)
    assert len({(p["firstname"], p["lastname"]) for p in people}) > 250


def test_a_fake_keeps_nothing_of_the_real_person() -> None:
    person = fake_person(42, "jane.doe")
    assert person["id"] == 42
    assert "jane" not in str(person["username"]) + str(person["email"])
    assert str(person["email"]).endswith("@example.com")
    username = str(person["username"])
    assert username == username.lower() and set(username) <= set(
        "abcdefghijklmnopqrstuvwxyz0123456789."
    )
    assert all(person[field] == "" for field in CLEARED)
