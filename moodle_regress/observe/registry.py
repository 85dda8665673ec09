"""Observers by area: what each one asks the site, after what, and what it makes of it.

An *area* (``courses``, ``users``...) is observed by one or more :class:`Observer`
steps, registered by the area's module with :func:`register`.  Each step declares

- ``needs``: the steps whose results it reads (they run first; a step named
  :data:`ALL` runs after every other);
- ``functions``: the web-service functions its calls use;
- ``calls(ctx)``: the calls to make, from what earlier steps found (web services), or
  ``gather(ctx)``: work against a local site's code (one PHP run...), for steps with
  ``local=True`` (skipped, with a note, when the site is not local);
- ``observe(ctx, answers, out)``: turn the answers into observations (``out.add``)
  and publish what later steps need on ``ctx``.

The scheduler (:mod:`.scheduler`) runs the steps in waves: every call of a wave runs
concurrently on the client's pool.  Selecting areas (``--areas``) runs the selected
steps and, silently, the steps they need.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from moodle_regress.errors import MoodleRegressError
from moodle_regress.observation import Normaliser, Observation
from moodle_ws import MoodleAPIError, MoodleClient

T = TypeVar("T")

if TYPE_CHECKING:
    from moodle_regress.observe.local_reads import LocalReads
    from moodle_regress.site import SiteDescriptor

#: ``needs=(ALL,)``: run after every other step (the field paths of every answer).
ALL = "*"

#: What a bulk read does with an error Moodle answers one call with: the value to use
#: instead, or raise it.
OnError = Callable[[MoodleAPIError], Any]

#: (kind, record) -> whether to observe the entity.  Kinds: course, user.
EntityFilter = Callable[[str, Mapping[str, Any]], bool]


class ObserveError(MoodleRegressError):
    """The site cannot be observed at all, or an unknown area was asked for."""


@dataclass(frozen=True)
class Call:
    """One read: ``function(**params)``; ``about`` tells the step which answer is which."""

    function: str
    params: Mapping[str, Any] = field(default_factory=dict)
    about: Any = None
    #: Whether the answer's field paths count for the ``api`` area.
    shape: bool = True


@dataclass
class Answers:
    """A step's answers: ``(call, result)`` pairs (result None: function unavailable),
    or what ``gather`` returned for a local step."""

    pairs: list[tuple[Call, Any]] = field(default_factory=list)
    gathered: Any = None

    def __iter__(self) -> Iterator[tuple[Call, Any]]:
        return iter(self.pairs)

    def first(self, function: str) -> Any:
        """The result of the first call of ``function`` (None if none or unavailable)."""
        return next((result for call, result in self.pairs if call.function == function), None)


class Reader(Protocol):
    """Calls a step makes itself (from ``gather``), through the scheduler: counted, a
    missing function noted once, field paths recorded for the ``api`` area."""

    def call(self, function: str, /, **params: Any) -> Any: ...

    def map(self, fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]: ...

    def each(
        self,
        function: str,
        params: Sequence[Mapping[str, Any]],
        *,
        on_error: OnError | None = None,
    ) -> list[Any]:
        """``function(**p)`` for each ``p`` (in bulk on a local site); an error Moodle
        answers one with goes to ``on_error`` (its value used), or is raised."""
        ...


class Output(Protocol):
    def add(self, key: str, value: Any, *, ordered: bool = False) -> None:
        """An observation of ``value``, normalised with the site's normaliser."""

    def keep(self, observation: Observation) -> None:
        """An observation made by the step itself, kept as it is."""


@dataclass
class Context:
    """What the steps share: the site, the normaliser, and what earlier steps found."""

    client: MoodleClient
    entity_filter: EntityFilter
    #: Plugin names worth checking beyond the core and those in use (type -> names).
    known_plugins: Mapping[str, set[str]] = field(default_factory=dict)
    #: The site's code tree when it is local (a sandbox), for local steps.
    code_dir: Path | None = None
    #: The site's descriptor, when the caller has one (steps that run PHP need it).
    site: SiteDescriptor | None = None
    #: A code tree of the site's release given for a site that is not local.
    release_code: Path | None = None
    #: Where PHP run by steps logs its output.
    php_log: Path | None = None
    #: Bulk reads through PHP, for a local site (see :mod:`.local_reads`).
    local_reads: LocalReads | None = None
    info: dict[str, Any] = field(default_factory=dict)
    release: str = ""
    normaliser: Normaliser = field(default_factory=Normaliser)
    #: Courses and users the filter accepts, and every course by id.
    courses: list[Mapping[str, Any]] = field(default_factory=list)
    all_courses: dict[int, Mapping[str, Any]] = field(default_factory=dict)
    categories: dict[int, str] = field(default_factory=dict)
    users: list[Mapping[str, Any]] = field(default_factory=list)
    #: username -> shortnames of the courses the user is enrolled in.
    user_courses: dict[str, set[str]] = field(default_factory=dict)
    #: (course, group) records of the observed courses.
    groups: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = field(default_factory=list)
    #: Anything else a step publishes for later ones (name it after the step).
    facts: dict[str, Any] = field(default_factory=dict)
    #: For steps that drive their own calls (set by the scheduler).
    reader: Reader | None = None
    #: Field paths seen in each function's answers.
    shapes: dict[str, set[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record_shape(self, function: str, result: Any) -> None:
        if result is not None:
            with self.lock:
                self.shapes.setdefault(function, set()).update(field_paths(result))


@dataclass
class Collector:
    """Observations made with the site's normaliser: held in ``items``, or handed to
    ``sink`` as they are made (a snapshot file written as a stream) and only counted."""

    ctx: Context
    items: list[Observation] = field(default_factory=list)
    sink: Callable[[Observation], None] | None = None
    count: int = 0
    areas: set[str] = field(default_factory=set)

    def add(self, key: str, value: Any, *, ordered: bool = False) -> None:
        self.keep(
            self.ctx.normaliser.observation(key, value, release=self.ctx.release, ordered=ordered)
        )

    def keep(self, observation: Observation) -> None:
        self.count += 1
        self.areas.add(observation.area)
        (self.sink or self.items.append)(observation)


class Discard:
    """The output of a step that runs only because a selected one needs it."""

    def add(self, key: str, value: Any, *, ordered: bool = False) -> None:
        del key, value, ordered

    def keep(self, observation: Observation) -> None:
        del observation


def _no_calls(_ctx: Context) -> Sequence[Call]:
    return ()


@dataclass(frozen=True)
class Observer:
    """One step of observing an area (see the module's docstring)."""

    name: str
    area: str
    observe: Callable[[Context, Answers, Output], None]
    needs: tuple[str, ...] = ()
    functions: tuple[str, ...] = ()
    calls: Callable[[Context], Sequence[Call]] = _no_calls
    gather: Callable[[Context], Any] | None = None
    local: bool = False
    #: The note a local step leaves when the site is not local (default: a generic one).
    remote_note: str | None = None


_REGISTRY: dict[str, Observer] = {}


def register(observer: Observer) -> Observer:
    """Add a step to the registry (area modules call this when imported)."""
    if observer.name in _REGISTRY:
        raise ObserveError(f"two observer steps named {observer.name!r}")
    _REGISTRY[observer.name] = observer
    return observer


def registered() -> list[Observer]:
    """Every step, in registration order."""
    return list(_REGISTRY.values())


def areas() -> list[str]:
    """The names of the observed areas, in registration order."""
    return list(dict.fromkeys(o.area for o in _REGISTRY.values()))


def functions() -> tuple[str, ...]:
    """Every web-service function some step calls (a site's service must offer them)."""
    return tuple(dict.fromkeys(f for o in _REGISTRY.values() for f in o.functions))


def all_areas_but(*left_out: str) -> list[str]:
    """Every area's name but those left out (for ``areas=``)."""
    return [name for name in areas() if name not in left_out]


def select(chosen: Sequence[str] | None) -> tuple[list[Observer], set[str]]:
    """The steps to run for the ``chosen`` areas (None: all) and the names of those
    whose observations are kept (the others run only because a kept one needs them)."""
    known = areas()
    if chosen is None:
        return registered(), set(_REGISTRY)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ObserveError(
            f"no observed area named {', '.join(unknown)}", f"choose from {', '.join(known)}"
        )
    kept = {o.name for o in _REGISTRY.values() if o.area in chosen}
    needed = kept | {"site"}  # the release and the normaliser come from it
    pending = list(needed)
    while pending:
        for name in _REGISTRY[pending.pop()].needs:
            if name != ALL and name not in needed:
                needed.add(name)
                pending.append(name)
    return [o for o in _REGISTRY.values() if o.name in needed], kept


def field_paths(value: Any, prefix: str = "") -> set[str]:
    """Every field path in a JSON value: ``{"a": [{"b": 1}]}`` -> ``{"a", "a[].b"}``."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for name, item in value.items():
            path = f"{prefix}.{name}" if prefix else name
            paths.add(path)
            paths |= field_paths(item, path)
    elif isinstance(value, list):
        for item in value:
            paths |= field_paths(item, f"{prefix}[]")
    return paths
