"""API areas, grouped as Moodle groups its functions: ``client.users``, ``client.courses``..."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from moodle_ws.client import MoodleClient


class Area:
    """Base of an API area: holds the client it calls through."""

    def __init__(self, client: MoodleClient) -> None:
        self._client = client
