"""Area ``site``: the site as a whole, from ``core_webservice_get_site_info``.

Keys ``site/@site/<field>``: release, version, site name, language, calendar type.
Every other step needs this one: it gives the release and the site's root for
normalising values.
"""

from __future__ import annotations

from collections.abc import Sequence

from moodle_regress.observation import SITE_ENTITY, Normaliser, make_key
from moodle_regress.observe.registry import (
    Answers,
    Call,
    Context,
    ObserveError,
    Observer,
    Output,
    register,
)

SITE_INFO = "core_webservice_get_site_info"
SITE_FIELDS = ("release", "version", "sitename", "lang", "sitecalendartype")


def calls(_ctx: Context) -> Sequence[Call]:
    # Its field paths are recorded without the function list (see observe).
    return [Call(SITE_INFO, shape=False)]


def observe(ctx: Context, answers: Answers, out: Output) -> None:
    info = answers.first(SITE_INFO)
    if info is None:
        raise ObserveError(
            f"{SITE_INFO} is unavailable, so the site cannot be observed",
            "add it to the token's external service",
        )
    ctx.info = dict(info)
    ctx.release = str(info.get("release", ""))
    ctx.normaliser = Normaliser(site_root=str(info.get("siteurl") or ctx.client.url))
    ctx.record_shape(SITE_INFO, {k: v for k, v in info.items() if k != "functions"})
    for name in SITE_FIELDS:
        if name in info:
            out.add(make_key("site", SITE_ENTITY, name), info[name])


SITE = register(
    Observer(name="site", area="site", functions=(SITE_INFO,), calls=calls, observe=observe)
)
