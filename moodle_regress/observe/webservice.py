"""Area ``webservice``: ``webservice/<function>/version`` for every function the token's
service offers (the sandbox's service offers them all), from the site info."""

from __future__ import annotations

from moodle_regress.observation import make_key
from moodle_regress.observe.registry import Answers, Context, Observer, Output, register


def observe(ctx: Context, _answers: Answers, out: Output) -> None:
    for function in ctx.info.get("functions") or []:
        out.add(make_key("webservice", str(function["name"]), "version"), function.get("version"))


WEBSERVICE = register(
    Observer(name="webservice", area="webservice", needs=("site",), observe=observe)
)
