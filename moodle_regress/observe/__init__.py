"""Observers: read a site and turn what they see into normalised observations."""

from moodle_regress.observe.api import (
    OBSERVER_FUNCTIONS,
    ApiObserver,
    EntityFilter,
    ObservationRun,
    ObserveError,
    all_entities,
    prefix_filter,
)

__all__ = [
    "OBSERVER_FUNCTIONS",
    "ApiObserver",
    "EntityFilter",
    "ObservationRun",
    "ObserveError",
    "all_entities",
    "prefix_filter",
]
