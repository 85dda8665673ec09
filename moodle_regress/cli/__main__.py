"""``python -m moodle_regress.cli``: the same as the ``moodle-regress`` command."""

from moodle_regress.cli import main

main()
