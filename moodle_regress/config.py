"""Where the tool keeps its state and finds Moodle code trees and sites.

Settings come from, in order of precedence:

1. environment variables: ``MOODLE_REGRESS_HOME`` (state directory),
   ``MOODLE_REGRESS_CODE_<RELEASE>`` (a code tree, e.g. ``MOODLE_REGRESS_CODE_4_5``),
   ``MOODLE_REGRESS_MOODLE_GIT`` (the Moodle git repository for code by version),
   ``MOODLE_REGRESS_CONFIG`` (another config file);
2. the config file, ``~/.config/moodle-regress/config.toml`` by default::

       [code_trees]
       "4.5" = "/srv/moodle/4.5"
       "5.0" = "/srv/moodle/5.0"

       [moodle]
       git = "file:///srv/mirrors/moodle.git"    # default: Moodle's official repository

       [sites.staging]
       url = "https://staging.example.org"
       token_env = "STAGING_TOKEN"
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from moodle_regress.errors import MoodleRegressError

APP = "moodle-regress"
CODE_ENV_PREFIX = "MOODLE_REGRESS_CODE_"
MOODLE_GIT_ENV = "MOODLE_REGRESS_MOODLE_GIT"
OFFICIAL_MOODLE_GIT = "https://github.com/moodle/moodle.git"


class ConfigError(MoodleRegressError):
    """The configuration file or an environment variable is unusable."""


@dataclass(frozen=True)
class SiteSetting:
    name: str
    url: str
    token_env: str = "MOODLE_REGRESS_TOKEN"
    allow_writes: bool = False


@dataclass(frozen=True)
class Settings:
    home: Path
    config_file: Path
    code_trees: dict[str, Path] = field(default_factory=dict)
    sites: dict[str, SiteSetting] = field(default_factory=dict)
    #: The git repository Moodle's code comes from when a version is given.
    moodle_git: str = OFFICIAL_MOODLE_GIT
    #: Load a new sandbox from the install kept for its code tree and engine rather than
    #: running Moodle's installer again (see moodle_regress/sandbox/installs.py).
    reuse_installs: bool = True
    #: Where kept installs live; None: ``<home>/installed-sites``.  Set apart
    #: (``MOODLE_REGRESS_KEPT_INSTALLS``), several tool homes share them.
    kept_installs_dir: Path | None = None

    @property
    def sandboxes_dir(self) -> Path:
        return self.home / "sandboxes"

    def code_tree(self, release: str) -> Path | None:
        """The configured code tree for ``release`` ("4.5", "5.0"...), if any."""
        return self.code_trees.get(release)


def config_file_path() -> Path:
    explicit = os.environ.get("MOODLE_REGRESS_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def load_settings() -> Settings:
    """Read the settings from the environment and the config file."""
    path = config_file_path()
    data: dict[str, object] = {}
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None

    home_value = os.environ.get("MOODLE_REGRESS_HOME") or data.get("home")
    home = (
        Path(str(home_value)).expanduser() if home_value else Path(platformdirs.user_data_dir(APP))
    )

    trees: dict[str, Path] = {}
    raw_trees = data.get("code_trees", {})
    if not isinstance(raw_trees, dict):
        raise ConfigError(f"{path}: [code_trees] must be a table of release = path")
    for release, tree in raw_trees.items():
        trees[str(release)] = Path(str(tree)).expanduser()
    for key, value in os.environ.items():
        if key.startswith(CODE_ENV_PREFIX) and value:
            release = key[len(CODE_ENV_PREFIX) :].replace("_", ".")
            trees[release] = Path(value).expanduser()

    sites: dict[str, SiteSetting] = {}
    raw_sites = data.get("sites", {})
    if not isinstance(raw_sites, dict):
        raise ConfigError(f"{path}: [sites] must hold one table per site")
    for name, entry in raw_sites.items():
        if not isinstance(entry, dict) or "url" not in entry:
            raise ConfigError(f"{path}: [sites.{name}] needs a url")
        sites[name] = SiteSetting(
            name=name,
            url=str(entry["url"]),
            token_env=str(entry.get("token_env", "MOODLE_REGRESS_TOKEN")),
            allow_writes=bool(entry.get("allow_writes", False)),
        )
    return Settings(
        home=home,
        config_file=path,
        code_trees=trees,
        sites=sites,
        moodle_git=_moodle_git(data, path),
        reuse_installs=_reuse_installs(data, path),
        kept_installs_dir=_path_setting(KEPT_INSTALLS_ENV, data.get("kept_installs")),
    )


KEPT_INSTALLS_ENV = "MOODLE_REGRESS_KEPT_INSTALLS"


def _path_setting(env: str, value: object) -> Path | None:
    raw = os.environ.get(env) or value
    return Path(str(raw)).expanduser() if raw else None


REUSE_INSTALLS_ENV = "MOODLE_REGRESS_REUSE_INSTALLS"


def _reuse_installs(data: dict[str, object], path: Path) -> bool:
    """``MOODLE_REGRESS_REUSE_INSTALLS=0|1``, else ``reuse_installs`` in the file (on)."""
    value: object = os.environ.get(REUSE_INSTALLS_ENV, data.get("reuse_installs", True))
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(
        f"{REUSE_INSTALLS_ENV} or reuse_installs in {path} is {value!r}",
        "give 1 or 0 (true or false)",
    )


def _moodle_git(data: dict[str, object], path: Path) -> str:
    moodle = data.get("moodle", {})
    if not isinstance(moodle, dict) or not isinstance(moodle.get("git", ""), str):
        raise ConfigError(f'{path}: [moodle] must be a table like git = "file:///..."')
    return os.environ.get(MOODLE_GIT_ENV) or str(moodle.get("git") or OFFICIAL_MOODLE_GIT)


def release_key(text: str) -> str:
    """ "4.5.6 (Build: ...)" or "405" -> "4.5"."""
    match = re.match(r"\s*(\d+)\.(\d+)", text)
    if match:
        return f"{match.group(1)}.{match.group(2)}"
    if text.isdigit() and len(text) == 3:
        return f"{text[0]}.{int(text[1:])}"
    return text
