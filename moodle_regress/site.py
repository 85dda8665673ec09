"""The site descriptor: everything another command needs to reach one Moodle site.

A sandbox writes one when it comes up (``<sandbox>/site.json``, mode 0600 since it
holds the token and the admin password); a user can write one by hand for a
staging site.  Every command's ``--site`` takes a descriptor path, a sandbox name,
a site named in the config file, or a URL (the token then comes from
``MOODLE_REGRESS_TOKEN``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from moodle_regress.config import Settings, load_settings
from moodle_regress.errors import MoodleRegressError
from moodle_regress.files import write_atomic
from moodle_regress.timing import TimedTransport
from moodle_regress.validation import InvalidDocumentError, validate_secret_json
from moodle_ws import MoodleClient
from moodle_ws.redaction import register_secret
from moodle_ws.transport import RequestsTransport

DESCRIPTOR_NAME = "site.json"
TOKEN_ENV = "MOODLE_REGRESS_TOKEN"


class SiteError(MoodleRegressError):
    """A ``--site`` value names no usable site."""


class SandboxPaths(BaseModel):
    """Where a sandbox keeps its parts (absent for sites the tool did not make)."""

    root: Path
    code_dir: Path
    webroot: Path
    dataroot: Path
    #: The private database server's folder (None when the site uses another one).
    db_dir: Path | None = None


class SiteDescriptor(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str
    url: str
    token: SecretStr
    service: str = "moodle_regress"
    admin_username: str | None = None
    admin_password: SecretStr | None = None
    release: str | None = None
    version: str | None = None
    #: Whether the tool may write to the site without an explicit flag.  Only a
    #: hint: the write guard checks the site's own marker too.
    test_site: bool = False
    sandbox: SandboxPaths | None = None
    #: The database engine of a sandbox (``postgres``, ``mariadb``), when known.
    db_engine: str | None = None

    def model_post_init(self, _context: object) -> None:
        register_secret(self.token.get_secret_value())
        if self.admin_password is not None:
            register_secret(self.admin_password.get_secret_value())

    def client(self, *, timeout: float = 30.0, max_workers: int = 8) -> MoodleClient:
        """A client of the site whose requests count as Moodle's time (see ``timing``)."""
        transport = TimedTransport(RequestsTransport(pool_size=max(16, max_workers * 2)))
        return MoodleClient(
            self.url,
            self.token.get_secret_value(),
            timeout=timeout,
            max_workers=max_workers,
            transport=transport,
        )

    def save(self, path: Path) -> None:
        data = json.loads(self.model_dump_json())
        data["token"] = self.token.get_secret_value()
        if self.admin_password is not None:
            data["admin_password"] = self.admin_password.get_secret_value()
        write_atomic(path, json.dumps(data, indent=2) + "\n", mode=0o600)

    @classmethod
    def load(cls, path: Path) -> SiteDescriptor:
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise SiteError(f"no site descriptor at {path}") from None
        try:
            # Validated without echoing the input: it holds the token and password.
            return validate_secret_json(cls, text)
        except InvalidDocumentError as exc:
            raise SiteError(
                f"{path} is not a site descriptor: {exc}; correct the file (it needs "
                "name, url and token), or bring the sandbox up again"
            ) from None


def resolve_site(value: str, settings: Settings | None = None) -> SiteDescriptor:
    """Turn a ``--site`` value into a descriptor (see the module's docstring)."""
    settings = settings or load_settings()
    path = Path(value).expanduser()
    if path.is_file():
        return SiteDescriptor.load(path)
    if path.is_dir() and (path / DESCRIPTOR_NAME).is_file():
        return SiteDescriptor.load(path / DESCRIPTOR_NAME)
    sandbox = settings.sandboxes_dir / value / DESCRIPTOR_NAME
    if sandbox.is_file():
        return SiteDescriptor.load(sandbox)
    if value in settings.sites:
        entry = settings.sites[value]
        return _from_url(entry.url, entry.token_env, name=value)
    if value.startswith(("http://", "https://")):
        return _from_url(value, TOKEN_ENV, name=value)
    raise SiteError(
        f"{value!r} is not a descriptor file, a sandbox, a configured site or a URL; "
        f"sandboxes live in {settings.sandboxes_dir}, sites are configured in "
        f"{settings.config_file}"
    )


def _from_url(url: str, token_env: str, *, name: str) -> SiteDescriptor:
    token = os.environ.get(token_env)
    if not token:
        raise SiteError(f"no token for {url}: set the environment variable {token_env}")
    return SiteDescriptor(name=name, url=url, token=SecretStr(token))
