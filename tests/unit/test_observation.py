"""Observation keys and the normalisation rules, one rule at a time."""

from __future__ import annotations

import pytest

from moodle_regress.observation import (
    Normaliser,
    Observation,
    ObservationError,
    clean_string,
    drop_timestamps,
    ids_to_natural_keys,
    make_key,
    normalise_url,
    sort_lists,
    split_key,
    strip_sesskeys,
    strip_theme_revisions,
    strip_url_hosts,
)

SITE = "http://127.0.0.1:8045/moodle"


class TestKeys:
    def test_make_and_split_round_trip(self) -> None:
        key = make_key("courses", "MR-C001", "sections", 2, "name")
        assert key == "courses/MR-C001/sections/2/name"
        parts = split_key(key)
        assert (parts.area, parts.entity, parts.aspect) == ("courses", "MR-C001", "sections/2/name")

    def test_slash_in_entity_is_escaped(self) -> None:
        key = make_key("groups", "MR/C 1%", "Team/A")
        assert key == "groups/MR%2FC 1%25/Team%2FA"
        assert split_key(key).entity == "MR/C 1%"

    @pytest.mark.parametrize("bad", ["courses", "courses/x", "/x/y", "a//b"])
    def test_bad_keys_are_refused(self, bad: str) -> None:
        with pytest.raises(ObservationError, match="area/entity/aspect"):
            split_key(bad)

    def test_key_needs_an_aspect(self) -> None:
        with pytest.raises(ObservationError, match="no aspect"):
            make_key("courses", "MR-C001")


class TestObservation:
    def test_properties_and_json(self) -> None:
        obs = Observation("courses/MR-C001/format", "topics", release="4.5.6")
        assert (obs.area, obs.entity, obs.aspect) == ("courses", "MR-C001", "format")
        assert obs.to_json() == {
            "key": "courses/MR-C001/format",
            "value": "topics",
            "source": "api",
            "release": "4.5.6",
        }

    @pytest.mark.parametrize("value", [{1, 2}, b"x", float("nan"), {1: "a"}, [object()]])
    def test_non_json_values_are_refused_naming_the_key(self, value: object) -> None:
        with pytest.raises(ObservationError, match="courses/MR-C001/x"):
            Observation("courses/MR-C001/x", value)

    def test_unknown_source_is_refused(self) -> None:
        with pytest.raises(ObservationError, match="source"):
            Observation("a/b/c", 1, source="ftp")  # type: ignore[arg-type]


class TestIdsToNaturalKeys:
    def test_id_fields_become_natural_keys_at_any_depth(self) -> None:
        idmap = {"course": {7: "MR-C001"}, "user": {42: "mr-student1"}}
        value = {"courseid": 7, "members": [{"userid": 42}, {"userid": 99}], "count": 7}
        assert ids_to_natural_keys(value, idmap) == {
            "courseid": "MR-C001",
            "members": [{"userid": "mr-student1"}, {"userid": "<user ?>"}],
            "count": 7,
        }

    def test_lists_of_ids(self) -> None:
        assert ids_to_natural_keys({"userid": [42, 43]}, {"user": {42: "a"}}) == {
            "userid": ["a", "<user ?>"]
        }

    def test_booleans_are_not_ids(self) -> None:
        assert ids_to_natural_keys({"courseid": True}, {"course": {1: "x"}}) == {"courseid": True}


class TestTimestamps:
    def test_time_fields_are_dropped_at_any_depth(self) -> None:
        value = {
            "name": "x",
            "timemodified": 1712345678,
            "users": [{"username": "a", "lastaccess": 1, "firstaccess": 2}],
            "startdate": 1,
        }
        assert drop_timestamps(value) == {"name": "x", "users": [{"username": "a"}]}


class TestStrings:
    def test_sesskey_query_parameter_goes(self) -> None:
        assert strip_sesskeys("/course/view.php?id=3&sesskey=Ab12Cd") == "/course/view.php?id=3"
        assert strip_sesskeys("/course/mod.php?sesskey=Ab12&x=1") == "/course/mod.php?x=1"
        assert strip_sesskeys("/course/mod.php?sesskey=Ab12") == "/course/mod.php"

    def test_sesskey_in_html_and_json(self) -> None:
        html = '<a href="/a.php?id=1&amp;sesskey=Zz9">x</a> {"sesskey":"Qw3"}'
        assert strip_sesskeys(html) == '<a href="/a.php?id=1">x</a> {"sesskey":""}'

    @pytest.mark.parametrize(
        ("before", "after"),
        [
            (
                "/theme/image.php/boost/core/1712345678/i/edit",
                "/theme/image.php/boost/core/REV/i/edit",
            ),
            ("/theme/styles.php/boost/1712345678_1/all", "/theme/styles.php/boost/REV/all"),
            ("/lib/javascript.php/-1/lib/x.js", "/lib/javascript.php/REV/lib/x.js"),
            ("/lib/requirejs.php/1712345678/core/first.js", "/lib/requirejs.php/REV/core/first.js"),
            ("/theme/yui_combo.php?m/1712345678/core/x.js", "/theme/yui_combo.php?m/REV/core/x.js"),
            # A context id is not a revision.
            ("/pluginfile.php/5/user/icon/f1", "/pluginfile.php/5/user/icon/f1"),
        ],
    )
    def test_theme_revisions(self, before: str, after: str) -> None:
        assert strip_theme_revisions(before) == after

    def test_url_loses_host_site_path_and_volatile_params(self) -> None:
        url = f"{SITE}/course/view.php?id=3&sesskey=x&rev=123"
        assert normalise_url(url, SITE) == "/course/view.php?id=3"
        assert normalise_url("https://other.example/moodle/x.php", None) == "/moodle/x.php"

    def test_other_hosts_are_kept_when_the_site_is_known(self) -> None:
        assert normalise_url("https://moodle.org/docs", SITE) == "https://moodle.org/docs"

    def test_urls_inside_text(self) -> None:
        text = f'<a href="{SITE}/user/view.php?id=2&amp;course=3&amp;sesskey=a1">me</a>'
        assert strip_url_hosts(strip_sesskeys(text), SITE) == (
            '<a href="/user/view.php?id=2&amp;course=3">me</a>'
        )

    def test_clean_string_applies_all_three(self) -> None:
        text = f"{SITE}/theme/image.php/boost/core/1712345678/i/edit?sesskey=abc"
        assert clean_string(text, SITE) == "/theme/image.php/boost/core/REV/i/edit"


class TestSortLists:
    def test_lists_get_a_stable_order(self) -> None:
        a = sort_lists(
            {"roles": ["teacher", "student"], "users": [{"username": "b"}, {"username": "a"}]}
        )
        b = sort_lists(
            {"roles": ["student", "teacher"], "users": [{"username": "a"}, {"username": "b"}]}
        )
        assert (
            a
            == b
            == {"roles": ["student", "teacher"], "users": [{"username": "a"}, {"username": "b"}]}
        )

    def test_numbers_sort_numerically(self) -> None:
        items = [{"section": 10}, {"section": 9}, {"section": 0}]
        assert [i["section"] for i in sort_lists(items)] == [0, 9, 10]

    def test_ordered_fields_keep_their_order(self) -> None:
        value = {"modules": ["quiz", "forum"], "roles": ["teacher", "student"]}
        assert sort_lists(value, frozenset({"modules"})) == {
            "modules": ["quiz", "forum"],
            "roles": ["student", "teacher"],
        }


class TestNormaliser:
    def test_all_rules_together(self) -> None:
        norm = Normaliser(site_root=SITE)
        norm.remember("course", [(7, "MR-C001")])
        raw = {
            "courseid": 7,
            "timemodified": 1712345678,
            "url": f"{SITE}/course/view.php?id=7&sesskey=abc",
            "roles": ["teacher", "student"],
            "modules": ["quiz", "forum"],
        }
        obs = norm.observation("courses/MR-C001/x", raw, release="4.5.6")
        assert obs.value == {
            "courseid": "MR-C001",
            "url": "/course/view.php?id=7",
            "roles": ["student", "teacher"],
            "modules": ["quiz", "forum"],
        }
        assert obs.release == "4.5.6"

    def test_two_sites_give_equal_values_for_the_same_fact(self) -> None:
        one = Normaliser(site_root="http://a.example:8001")
        two = Normaliser(site_root="https://b.example/moodle")
        one.remember("user", [(5, "mr-s1")])
        two.remember("user", [(905, "mr-s1")])
        a = one.normalise({"userid": 5, "link": "http://a.example:8001/my/", "lastaccess": 1})
        b = two.normalise({"userid": 905, "link": "https://b.example/moodle/my/", "lastaccess": 2})
        assert a == b

    def test_top_level_ordered_list(self) -> None:
        norm = Normaliser()
        assert norm.normalise(["b", "a"], ordered=True) == ["b", "a"]
        assert norm.normalise(["b", "a"]) == ["a", "b"]
