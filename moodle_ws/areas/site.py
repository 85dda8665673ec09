"""The site as a whole: ``core_webservice_get_site_info``."""

from __future__ import annotations

from moodle_ws.areas import Area
from moodle_ws.records import Record


class SiteFunction(Record):
    name: str
    version: str | None = None


class SiteInfo(Record):
    sitename: str
    siteurl: str
    username: str
    userid: int
    release: str | None = None
    version: str | None = None
    functions: list[SiteFunction] = []
    theme: str | None = None
    lang: str | None = None

    @property
    def function_names(self) -> set[str]:
        return {f.name for f in self.functions}


class SiteArea(Area):
    def info(self, *, refresh: bool = False) -> SiteInfo:
        """The site's name, release, the token's user and the functions it may call."""
        return SiteInfo.model_validate(self._client.site_info(refresh=refresh))
