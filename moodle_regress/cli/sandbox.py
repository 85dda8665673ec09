"""``moodle-regress sandbox ...``: local Moodle sites from code trees."""

from __future__ import annotations

import click


@click.group()
def sandbox() -> None:
    """Bring up, upgrade, back up and restore local Moodle sites."""
