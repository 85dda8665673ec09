"""moodle-regress: rehearse Moodle upgrades and show what changed."""

__version__ = "0.1.0"
