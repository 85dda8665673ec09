"""Observers: read a site and turn what they see into normalised observations.

One module per observed area registers its steps (:mod:`.registry`); importing this
package registers them all (their ``needs``, not this order, decide when each runs).
To add an area, see :mod:`.registry` and the project notes (section ``house``).
"""

from moodle_regress.observe import (  # noqa: F401 - imported to register their steps
    api,
    content,
    contract,
    courses,
    enrolments,
    groups,
    plugins,
    site,
    themes,
    users,
    webservice,
)
from moodle_regress.observe.observer import (
    OBSERVE_TIMEOUT,
    ApiObserver,
    ObservationRun,
    all_entities,
    prefix_filter,
)
from moodle_regress.observe.registry import (
    Answers,
    Call,
    Context,
    EntityFilter,
    ObserveError,
    Observer,
    all_areas_but,
    areas,
    functions,
    register,
)

#: The web-service functions the observer calls (a site's service must offer them).
OBSERVER_FUNCTIONS: tuple[str, ...] = functions()

__all__ = [
    "OBSERVER_FUNCTIONS",
    "OBSERVE_TIMEOUT",
    "Answers",
    "ApiObserver",
    "Call",
    "Context",
    "EntityFilter",
    "ObservationRun",
    "ObserveError",
    "Observer",
    "all_areas_but",
    "all_entities",
    "areas",
    "functions",
    "prefix_filter",
    "register",
]
