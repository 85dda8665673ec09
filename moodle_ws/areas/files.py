"""Files: ``webservice/upload.php`` into the token user's draft (or private) area."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Literal

from moodle_ws.areas import Area
from moodle_ws.records import Record


class UploadedFile(Record):
    """A file as ``webservice/upload.php`` reports it."""

    filename: str
    filepath: str
    itemid: int
    filearea: str
    component: str | None = None
    contextid: int | None = None
    userid: int | None = None
    license: str | None = None
    author: str | None = None
    source: str | None = None


class FilesArea(Area):
    def upload(
        self,
        files: Sequence[Path | tuple[str, bytes]],
        *,
        itemid: int = 0,
        filearea: Literal["draft", "private"] = "draft",
        filepath: str = "/",
    ) -> list[UploadedFile]:
        """Upload files in one request; ``itemid=0`` makes a new draft area.

        Use the returned ``itemid`` where a function takes a draft item id (for
        example a course's overview files or an assignment submission).
        """
        handles: list[IO[bytes]] = []
        parts: dict[str, tuple[str, IO[bytes]]] = {}
        try:
            for index, item in enumerate(files, start=1):
                if isinstance(item, Path):
                    handle: IO[bytes] = item.open("rb")
                    name = item.name
                else:
                    name, content = item
                    handle = io.BytesIO(content)
                handles.append(handle)
                parts[f"file_{index}"] = (name, handle)
            data = self._client.upload(parts, filearea=filearea, itemid=itemid, filepath=filepath)
        finally:
            for handle in handles:
                handle.close()
        return self._many(UploadedFile, data, function="webservice/upload.php")
