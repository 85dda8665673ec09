"""Keep secrets out of everything a person or a log can read.

Every token and password the client handles is registered here; :func:`redact`
replaces each registered secret, and anything shaped like a Moodle token or a
``wstoken=``/``password=`` pair, with a fixed mask.  Exceptions, reprs, log records
(through :class:`RedactingFilter`) and reports all pass through it.
"""

from __future__ import annotations

import logging
import re
import threading

MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()

# A Moodle web-service token is 32 lowercase hex characters.
_TOKEN_SHAPE = re.compile(r"\b[0-9a-f]{32}\b")
# ``name=value`` (form, URL) and ``"name": "value"`` (JSON, repr) pairs; the optional
# closing quote after the name is what lets the JSON form match too.
# JSON's null/true/false are no secrets: masking them would corrupt JSON text.
_SECRET_PAIRS = re.compile(
    r"(?i)\b(wstoken|token|password|privatetoken|passwd)([\"']?\s*[=:]\s*[\"']?)"
    r"(?!(?:null|true|false)\b)([^&\s\"',}]+)"
)


def register_secret(secret: str | None) -> None:
    """Remember ``secret`` so that :func:`redact` masks it from now on."""
    # Very short strings would mask ordinary words; Moodle secrets are longer.
    if secret and len(secret) >= 4:
        with _lock:
            _secrets.add(secret)


def redact(text: str) -> str:
    """Return ``text`` with every known or token-shaped secret masked."""
    if not text:
        return text
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _TOKEN_SHAPE.sub(MASK, text)
    return _SECRET_PAIRS.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)


class SecretStr(str):
    """A string that shows as the mask wherever Python prints it with ``repr``.

    The token travels through the form fields as this, so a traceback that prints
    local variables (``pytest --showlocals``, rich tracebacks) shows ``'***'``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach :class:`RedactingFilter` to ``logger`` (the root logger by default)."""
    target = logger or logging.getLogger()
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
