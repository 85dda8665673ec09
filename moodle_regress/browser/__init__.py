"""Driving Moodle in a real browser: launch, sign-in, waits, ARIA and visual observations."""
