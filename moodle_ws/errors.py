"""One exception tree for everything the client can raise.

``MoodleError`` is the root.  Below it, ``TransportError`` covers failures to get a
Moodle answer at all (host unreachable, timeout, HTTP status, a body that is not
Moodle's JSON), and ``MoodleAPIError`` covers Moodle's own answers that report an
error.  Every message says what went wrong and what to do about it; no message
ever carries a token or password (see :mod:`moodle_ws.redaction`).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any, ClassVar

from moodle_ws.redaction import redact


class MoodleError(Exception):
    """Root of every error raised by :mod:`moodle_ws`."""

    #: What to do about it; subclasses give a default, callers may override.
    hint: ClassVar[str] = ""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = redact(message)
        self.instance_hint = redact(hint) if hint is not None else type(self).hint
        super().__init__(self.message)

    def __str__(self) -> str:
        if self.instance_hint:
            return f"{self.message}\nHint: {self.instance_hint}"
        return self.message


class ConfigurationError(MoodleError):
    """The client was given something it cannot use (a bad URL, a bad parameter)."""


class ParameterEncodingError(ConfigurationError):
    """A call parameter has a type Moodle's REST protocol cannot carry."""

    hint = "Pass str, int, float, bool, None, or lists and mappings of those."


# --- Transport -------------------------------------------------------------------


class TransportError(MoodleError):
    """No usable Moodle answer came back."""


class ConnectError(TransportError):
    """The host could not be reached (DNS, refused connection, TLS failure)."""

    hint = "Check the site URL and that the web server is running and reachable from here."


class RequestTimeoutError(TransportError):
    """The site did not answer in time."""

    hint = "The site may be overloaded; raise the client's timeout or retry later."


class TruncatedResponseError(TransportError):
    """The connection broke before the whole answer arrived."""

    hint = (
        "The web server or a proxy cut the answer short (a crash, a proxy timeout, a "
        "full disk): read the web server's error log, then retry."
    )


class HTTPStatusError(TransportError):
    """The web server answered with an HTTP error status."""

    def __init__(self, message: str, *, status_code: int, hint: str | None = None) -> None:
        self.status_code = status_code
        if hint is None and not type(self).hint:
            hint = status_hint(status_code)
        super().__init__(message, hint=hint)


# What an HTTP error status from a Moodle site's web server usually means, and the fix.
_STATUS_HINTS: Mapping[int, str] = {
    401: "A proxy or the web server asks for a login before Moodle runs: let the tool's "
    "requests through, or give it the site's direct URL.",
    403: "The web server or a firewall refused the request before Moodle answered: check "
    "its access rules for webservice/ and login/token.php.",
    404: "Nothing answers at that path: give the Moodle site's root URL (its wwwroot), and "
    "check that webservice/rest/server.php exists there.",
    405: "The web server does not accept POST there: give the Moodle site's root URL, not "
    "a static host or proxy in front of it.",
    413: "The request is larger than the web server accepts: send smaller batches, or "
    "raise the server's body size limit (client_max_body_size, LimitRequestBody).",
    429: "The server limits the rate of requests: wait, or send fewer requests at once.",
    500: "Moodle or PHP failed while answering: read the web server's and PHP's error log "
    "(or turn Moodle's debugging on) for the cause.",
    501: "The web server does not implement this request: point the tool at the Moodle "
    "site itself, not at a server or proxy that only serves files.",
    502: "A proxy in front of Moodle got no valid answer from it: check that PHP "
    "(php-fpm) is running and read the proxy's error log.",
    503: "The site is unavailable (overloaded, or a proxy's backend is down): retry later.",
    504: "A proxy in front of Moodle gave up waiting for it: the call is slow; send "
    "smaller batches or raise the proxy's timeout.",
}


def status_hint(status_code: int) -> str:
    """The fix for an HTTP error status; every 4xx and 5xx gets one."""
    if status_code in _STATUS_HINTS:
        return _STATUS_HINTS[status_code]
    if status_code >= 500:
        return _STATUS_HINTS[500]
    return (
        "The web server refused the request before Moodle answered: check the site URL "
        "and any proxy in between."
    )


class WebServicesDisabledError(HTTPStatusError):
    """The REST server refused the request because web services or REST are off."""

    hint = (
        "Enable web services (Site administration > Advanced features > Enable web "
        "services) and the REST protocol (Server > Web services > Manage protocols)."
    )


class UnexpectedResponseError(TransportError):
    """The body is not Moodle's JSON: a login page, a proxy error, PHP output."""

    hint = (
        "Check that the URL is the Moodle site's root (not a proxy or login page) and "
        "that the site is not printing PHP errors; enable debugging to see them."
    )

    def __init__(self, message: str, *, excerpt: str, hint: str | None = None) -> None:
        self.excerpt = redact(excerpt)
        if self.excerpt:
            message = f"{message}; the body begins: {self.excerpt!r}"
        super().__init__(message, hint=hint)


class EmptyResponseError(UnexpectedResponseError):
    """The web server answered with no body at all: Moodle always sends JSON."""

    hint = (
        "PHP may have died while answering (a fatal error, memory or time limit): read "
        "the web server's and PHP's error log; a proxy may also have dropped the body."
    )

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message, excerpt="", hint=hint)


class RedirectedError(UnexpectedResponseError):
    """The web server answered with a redirect instead of Moodle's answer."""

    def __init__(self, message: str, *, location: str, excerpt: str = "") -> None:
        self.location = redact(location)
        if self.location:
            hint = (
                f"The site sends requests on to {self.location}: use that address's site "
                "root as the site URL (http or https, host and path as in Moodle's wwwroot)."
            )
        else:
            hint = "Use the site's root URL exactly as Moodle's wwwroot gives it."
        super().__init__(message, excerpt=excerpt, hint=hint)


# --- Moodle's own errors ----------------------------------------------------------


class MoodleAPIError(MoodleError):
    """Moodle answered with an error (``exception``/``errorcode``/``message``)."""

    def __init__(
        self,
        message: str,
        *,
        errorcode: str = "",
        exception: str = "",
        debuginfo: str | None = None,
        function: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.errorcode = errorcode
        self.exception = exception
        self.debuginfo = redact(debuginfo) if debuginfo else None
        self.function = function
        where = f"{function}: " if function else ""
        code = f" [{errorcode}]" if errorcode else ""
        text = f"{where}{message}{code}"
        if self.debuginfo:
            text += f" ({self.debuginfo.strip()})"
        super().__init__(text, hint=hint)


class InvalidTokenError(MoodleAPIError):
    hint = (
        "The token is unknown, expired or restricted to other IP addresses: create a "
        "new one (Site administration > Server > Web services > Manage tokens)."
    )


class AccessDeniedError(MoodleAPIError):
    hint = (
        "The function may be missing from the token's external service: add it to the "
        "service (Server > Web services > External services > Functions), or give the "
        "token's user the capability it needs."
    )


class FunctionNotFoundError(MoodleAPIError):
    hint = (
        "This site does not have that function (older or newer Moodle, or a plugin "
        "missing); check core_webservice_get_site_info's function list."
    )


class InvalidParameterError(MoodleAPIError):
    hint = "Check the call's parameters against the function's description on the site."


class MissingRecordError(MoodleAPIError):
    hint = "The record does not exist (deleted, or an id from another site)."


class CapabilityError(MoodleAPIError):
    """Moodle refused an action for lack of a capability or a login."""

    hint = "Give the token's user the needed capability in the right context."


class MaintenanceModeError(MoodleAPIError):
    hint = "The site is in maintenance mode; wait for it to end or switch it off."


class SiteDatabaseError(MoodleAPIError):
    """The site cannot reach its own database (``dbconnectionfailed``)."""

    hint = (
        "The site's database server is down or unreachable: start it (a sandbox: "
        "`moodle-regress sandbox start NAME`), or check the database settings in config.php."
    )


class UpgradePendingError(MoodleAPIError):
    """Moodle is upgrading (``upgraderunning``).

    A site whose code is merely newer than its database is not detected: Moodle's
    web-service server answers as usual then (recorded: ``upgrade_pending_answers``).
    """

    hint = "The site's code is newer than its database: finish the upgrade first."


class TokenRequestError(MoodleAPIError):
    """``login/token.php`` refused to issue a token."""

    hint = (
        "Check the username and password, that the service exists and is enabled, and "
        "that the user may create tokens for it (moodle/webservice:createtoken)."
    )


class InvalidLoginError(TokenRequestError):
    hint = "The username or password is wrong, or the account is suspended or locked."


class ServiceUnavailableError(TokenRequestError):
    hint = (
        "The external service does not exist, is disabled, or the user is not "
        "authorised for it; check its short name and its authorised users."
    )


# Moodle error codes, as sent in ``errorcode``, mapped to the classes above.
_BY_ERRORCODE: Mapping[str, type[MoodleAPIError]] = {
    "invalidtoken": InvalidTokenError,
    "invalidtokenerror": InvalidTokenError,
    "accessexception": AccessDeniedError,
    "servicerequireslogin": AccessDeniedError,
    "invalidrecord": FunctionNotFoundError,  # refined in from_payload
    "invalidrecordunknown": MissingRecordError,
    "invalidparameter": InvalidParameterError,
    "nopermissions": CapabilityError,
    "requireloginerror": CapabilityError,
    "sitemaintenance": MaintenanceModeError,
    "upgraderunning": UpgradePendingError,
    "dbconnectionfailed": SiteDatabaseError,
    "upgraderequired": UpgradePendingError,
    "invalidlogin": InvalidLoginError,
    "servicenotavailable": ServiceUnavailableError,
}


# Error codes that mean web services are switched off: login/token.php and
# webservice/upload.php answer them as JSON where the REST server answers a bare 403.
_WEBSERVICES_OFF = frozenset({"enablewsdescription", "wsdisabled"})


def plain_text(message: str) -> str:
    """A Moodle message without its HTML (some come as ``<p>...</p>`` paragraphs)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", message))
    return " ".join(text.split())


def error_from_payload(payload: Mapping[str, Any], *, function: str | None) -> MoodleError:
    """Build the precise exception for a Moodle error payload."""
    errorcode = str(payload.get("errorcode") or "")
    message = plain_text(
        str(payload.get("message") or payload.get("error") or "Moodle reported an error")
    )
    debuginfo = payload.get("debuginfo")
    exception = str(payload.get("exception") or "")
    if errorcode in _WEBSERVICES_OFF:
        where = f"{function}: " if function else ""
        return WebServicesDisabledError(f"{where}{message} [{errorcode}]", status_code=200)
    cls: type[MoodleAPIError] = MoodleAPIError
    mapped = _BY_ERRORCODE.get(errorcode)
    if mapped is not None:
        cls = mapped
    if errorcode == "invalidrecord":
        # The same code means "no such function" (table external_functions) or
        # "no such record" for any other table.
        detail = f"{message} {debuginfo or ''}"
        cls = FunctionNotFoundError if "external_functions" in detail else MissingRecordError
    elif errorcode == "dmlreadexception" and "external_functions" in str(debuginfo):
        cls = FunctionNotFoundError
    elif exception.endswith("dml_missing_record_exception") and cls is MoodleAPIError:
        cls = MissingRecordError
    elif (
        exception.endswith(("require_login_exception", "required_capability_exception"))
        and cls is MoodleAPIError
    ):
        cls = CapabilityError
    elif "error" in payload and "exception" not in payload and cls is MoodleAPIError:
        cls = TokenRequestError
    return cls(
        message,
        errorcode=errorcode,
        exception=exception,
        debuginfo=str(debuginfo) if debuginfo is not None else None,
        function=function,
    )
