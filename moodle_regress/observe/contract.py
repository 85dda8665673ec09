"""The web-service contract as observations (area ``contract``).

What Moodle says about each function it offers, read by ``moodle_regress/php/contract.php``
against the site's code (see :mod:`moodle_regress.contract_source` for where the code and
its ``config.php`` come from), becomes these observations:

==========================================  ==============================================
key                                          value
==========================================  ==============================================
``contract/<fn>/component``                  the component (``mod_choice``; core functions
                                             by their subsystem, ``core_course``): present
                                             exactly when the function is
``contract/<fn>/type``                       ``read`` or ``write``
``contract/<fn>/deprecated``                 ``<method>_is_deprecated()`` returns true
``contract/<fn>/ajax``, ``loginrequired``    allowed from AJAX, needs a logged-in user
``contract/<fn>/services``                   the services Moodle's code puts it in
                                             (``moodle_mobile_app``...), not ones an admin made
``contract/<fn>/params/<name>[/...]``        one parameter: ``{"type", "required",
                                             "default", "allownull"}``; ``type`` is the
                                             ``PARAM_`` type, ``object`` or ``list``; a list's
                                             items are under ``[]``
                                             (``params/courses/[]/fullname``)
``contract/<fn>/returns[/...]``              the answer the same way; ``returns`` itself
                                             says what the whole answer is (``none`` when
                                             the function returns nothing)
``contract/<fn>/error``                      Moodle could not describe the function
==========================================  ==============================================

``required`` is ``required``, ``optional`` or ``default`` (``default`` carries the
value Moodle fills in).  Descriptions (``desc``) are left out: they are prose.  A default
that is the time of the run (``time()``, as ``core_calendar_create_calendar_events``'
``timestart``) reads :data:`NOW` (see :func:`node_value`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from moodle_regress.observation import Observation, make_key
from moodle_regress.observe.registry import Answers, Context, Observer, Output, register

AREA = "contract"
PARAMS = "params"
RETURNS = "returns"
LIST_ITEM = "[]"

#: The value of a default that is the time the contract was read.
NOW = "(time of the call)"
#: A default this close to the time of the run is taken for ``time()``.
NOW_WINDOW = 7 * 86400

#: Facts about a function as a whole, in the order they are observed.
FUNCTION_FACTS = ("component", "type", "deprecated", "ajax", "loginrequired", "services")


def node_value(node: Mapping[str, Any], now: int | None = None) -> dict[str, Any]:
    """A description node without its children: type, required, default, allownull.

    An integer default within :data:`NOW_WINDOW` of ``now`` (the time of the run)
    becomes :data:`NOW`: it is ``time()``, different on every run.
    """
    value: dict[str, Any] = {"type": node.get("type")}
    for name in ("required", "default", "allownull"):
        if name in node:
            value[name] = node[name]
    default = value.get("default")
    if (
        now is not None
        and isinstance(default, int)
        and not isinstance(default, bool)
        and abs(default - now) <= NOW_WINDOW
    ):
        value["default"] = NOW
    return value


def _walk(
    path: tuple[str, ...], node: Mapping[str, Any], now: int | None
) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, node_value(node, now)
    for name, child in (node.get("keys") or {}).items():
        yield from _walk((*path, str(name)), child, now)
    if isinstance(node.get("content"), Mapping):
        yield from _walk((*path, LIST_ITEM), node["content"], now)


def function_observations(
    name: str, info: Mapping[str, Any], release: str, now: int | None = None
) -> list[Observation]:
    """The observations of one function (see the module's docstring)."""

    def obs(*aspect: str, value: Any) -> Observation:
        return Observation(make_key(AREA, name, *aspect), value, "api", release)

    found = [obs(fact, value=info[fact]) for fact in FUNCTION_FACTS if fact in info]
    if "error" in info:
        return [*found, obs("error", value=info["error"])]
    params = info.get(PARAMS) or {}
    for pname, child in (params.get("keys") or {}).items():
        found.extend(obs(PARAMS, *path, value=value) for path, value in _walk((pname,), child, now))
    returns = info.get(RETURNS)
    if returns is None:
        found.append(obs(RETURNS, value={"type": "none"}))
    else:
        found.extend(obs(RETURNS, *path, value=value) for path, value in _walk((), returns, now))
    return found


def contract_observations(answer: Mapping[str, Any], release: str) -> list[Observation]:
    """Every function's observations from ``contract.php``'s answer."""
    functions: Mapping[str, Any] = answer.get("functions") or {}
    now = answer.get("now")
    found: list[Observation] = []
    for name in sorted(functions):
        found.extend(function_observations(name, functions[name], release, now))
    return found


# --- the area's step: one PHP run against the site's code -----------------------------


def gather(ctx: Context) -> tuple[list[Observation], list[str]] | None:
    """The contract of the site's code (a sandbox's, or ``release_code`` for another site)."""
    if ctx.site is None:
        return None  # a bare client: nothing says where the site's code is
    from moodle_regress.observe.contract_source import observe_contract

    return observe_contract(ctx.site, code=ctx.release_code, log=ctx.php_log)


def observe(ctx: Context, answers: Answers, out: Output) -> None:
    if answers.gathered is None:
        return
    found, notes = answers.gathered
    ctx.notes.extend(notes)
    for observation in found:
        out.keep(observation)


CONTRACT = register(
    Observer(name="contract", area=AREA, needs=("site",), gather=gather, observe=observe)
)
