"""Area ``api``: ``api/<function>/fields``, the field paths found in each function's
answers during this observation (``[]`` marks a list): a field Moodle adds or drops
shows here.  It runs after every other step (plugin probes are not counted)."""

from __future__ import annotations

from moodle_regress.observation import make_key
from moodle_regress.observe.registry import (
    ALL,
    Answers,
    Context,
    Observer,
    Output,
    field_paths,
    register,
)

__all__ = ["API", "field_paths"]


def observe(ctx: Context, _answers: Answers, out: Output) -> None:
    for function, paths in ctx.shapes.items():
        out.add(make_key("api", function, "fields"), sorted(paths))


API = register(Observer(name="api", area="api", needs=(ALL,), observe=observe))
