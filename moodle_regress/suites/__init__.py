"""The regression suites shipped with the tool: ``api`` (web services) and ``browser``.

Run them with ``pytest --pyargs moodle_regress.suites.api --moodle-site SITE`` (or by
path); ``moodle-regress rehearse --suites api,browser`` runs them for you.
"""
