"""Running PHP against a Moodle code tree: our scripts (JSON in, result out) and PHP itself.

Every PHP script of ours lives in ``moodle_regress/php/`` and runs through
:func:`run_php_script`.  The protocol:

- stdin: one JSON object, the payload plus ``config`` (the path of the site's
  ``config.php``);
- the script starts ``define('CLI_SCRIPT', true); require(__DIR__ . '/lib/site.php');``
  (which reads the input as ``$input`` and runs the site's ``config.php``) and ends with
  ``moodle_regress_result($data)``: one line ``MOODLE_REGRESS_RESULT <json>``;
- an uncaught exception prints ``MOODLE_REGRESS_ERROR <json {message, errorcode,
  debuginfo}>`` (``lib/common.php``), raised here as :class:`PhpScriptError` with
  Moodle's own message and debug information;
- everything else the script prints goes to the log, with secrets masked.

Batch: one run per job (a list of courses, of plugins...), never one per item: each
run boots Moodle (about half a second).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from moodle_regress.cpus import PHP_CPUS, pin
from moodle_regress.errors import MoodleRegressError
from moodle_regress.resources import packaged_path
from moodle_regress.timing import CLOCK
from moodle_ws.redaction import redact, register_secret

RESULT_PREFIX = "MOODLE_REGRESS_RESULT "
ERROR_PREFIX = "MOODLE_REGRESS_ERROR "

#: PHP settings Moodle needs on the command line and in the web server alike (the
#: installer refuses ``max_input_vars`` below 5000).
PHP_INI: dict[str, str] = {
    "max_input_vars": "5000",
    "memory_limit": "512M",
    "post_max_size": "64M",
    "upload_max_filesize": "64M",
}

#: Payload fields whose values are secrets (masked in the log, whatever their shape).
_SECRET_SUFFIXES = ("password", "token", "secret", "_key")


class PhpScriptError(MoodleRegressError):
    """A PHP script of ours failed; Moodle's ``errorcode`` and ``debuginfo`` when it said."""

    def __init__(
        self,
        message: str,
        fix: str | None = None,
        *,
        errorcode: str | None = None,
        debuginfo: str | None = None,
    ) -> None:
        super().__init__(message, fix)
        self.errorcode = errorcode
        self.debuginfo = debuginfo


def php_command(ini: Mapping[str, str] | None = None) -> list[str]:
    """``php`` with Moodle's settings (:data:`PHP_INI`, then ``ini``) as ``-d`` options."""
    args = ["php"]
    for key, value in {**PHP_INI, **(ini or {})}.items():
        args += ["-d", f"{key}={value}"]
    return args


#: Prints this PHP's version, its extensions and the ini settings named in argv[1].
_PROBE = (
    "echo json_encode(['version' => PHP_VERSION, 'extensions' => "
    "array_map('strtolower', get_loaded_extensions()), 'settings' => "
    "array_map('ini_get', array_combine($argv[1] ? explode(',', $argv[1]) : [], "
    "$argv[1] ? explode(',', $argv[1]) : []))]);"
)


@dataclass(frozen=True)
class PhpFacts:
    """This machine's PHP as Moodle runs on it (with :data:`PHP_INI`)."""

    binary: Path
    version: str
    extensions: frozenset[str]
    settings: Mapping[str, str | None] = field(default_factory=dict)

    @property
    def series(self) -> str:
        """``8.2`` for 8.2.36: what Debian's package names carry."""
        return ".".join(self.version.split(".")[:2])


def probe_php(settings: Sequence[str] = (), *, binary: str = "php") -> PhpFacts | None:
    """Ask ``binary`` (found on PATH) for its version, extensions and ``settings``;
    None where there is no such PHP or it does not answer."""
    path = shutil.which(binary)
    if path is None:
        return None
    try:
        out = subprocess.run(
            [path, *php_command()[1:], "-r", _PROBE, ",".join(settings)],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        data = json.loads(out)
    except (subprocess.SubprocessError, ValueError, OSError):
        return None
    return PhpFacts(
        binary=Path(path),
        version=str(data["version"]),
        extensions=frozenset(data["extensions"]),
        # ini_get() answers false for a setting this PHP does not know.
        settings={
            k: v if isinstance(v, str) else None for k, v in (data["settings"] or {}).items()
        },
    )


def run_php(
    args: Sequence[str],
    *,
    cwd: Path,
    title: str,
    log: Path | None = None,
    stdin: str | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``php ARGS`` in ``cwd``; append ``$ php TITLE``, its output and exit status to
    ``log`` with secrets masked.  ``TITLE`` is what the log shows of the arguments: leave
    passwords out of it.

    PHP works on one CPU (see :mod:`moodle_regress.cpus`).

    The log grows as PHP prints, so ``tail -f`` follows a long install or upgrade, and a
    run cut short (a timeout, Ctrl-C) leaves what it printed and says how it ended."""
    with CLOCK.busy("moodle"), _LiveLog(log, title) as sink, PHP_CPUS.claim() as cpu:
        process = subprocess.Popen(
            [*php_command(), *args],
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(cwd),
        )
        # Before PHP connects to its database (its start takes far longer than this).
        pin(process.pid, cpu)
        outputs: tuple[list[str], list[str]] = ([], [])
        pumps = [
            threading.Thread(target=_pump, args=(stream, kept, sink), daemon=True)
            for stream, kept in ((process.stdout, outputs[0]), (process.stderr, outputs[1]))
        ]
        if stdin is not None:
            # A thread too: a large payload must not block while PHP fills its pipes.
            pumps.append(threading.Thread(target=_feed, args=(process, stdin), daemon=True))
        for pump in pumps:
            pump.start()
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(process, pumps)
            sink.status = "timed out"
            raise PhpScriptError(
                f"php {title} did not finish within {timeout:.0f} s",
                f"see {log}" if log else None,
            ) from None
        except BaseException:
            _stop(process, pumps)
            sink.status = "interrupted"
            raise
        for pump in pumps:
            pump.join()
        sink.status = f"exit status {returncode}"
    return subprocess.CompletedProcess(
        [*php_command(), *args], returncode, "".join(outputs[0]), "".join(outputs[1])
    )


class _LiveLog:
    """The log of one PHP run, written line by line (from two threads) as PHP prints."""

    def __init__(self, path: Path | None, title: str) -> None:
        self.path, self.title = path, title
        self.status = "unknown"
        self._handle: IO[str] | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> _LiveLog:
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("a")
            self._write(f"$ php {redact(self.title)}\n")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._write(f"[{self.status}]\n")
            self._handle.close()

    def line(self, text: str) -> None:
        if self._handle is not None:
            self._write(redact(text) if text.endswith("\n") else redact(text) + "\n")

    def _write(self, text: str) -> None:
        assert self._handle is not None
        with self._lock:
            self._handle.write(text)
            self._handle.flush()


def _pump(stream: IO[str] | None, kept: list[str], sink: _LiveLog) -> None:
    if stream is None:
        return
    for text in stream:
        kept.append(text)
        sink.line(text)
    stream.close()


def _feed(process: subprocess.Popen[str], text: str) -> None:
    assert process.stdin is not None
    try:
        process.stdin.write(text)
        process.stdin.close()
    except BrokenPipeError:  # PHP ended without reading it all: its output says why
        pass


def _stop(process: subprocess.Popen[str], pumps: list[threading.Thread]) -> None:
    process.kill()
    process.wait()
    for pump in pumps:
        pump.join(timeout=5)


def run_php_script(
    code_dir: Path,
    script: str,
    payload: Mapping[str, Any] | None = None,
    *,
    log: Path | None = None,
    timeout: float | None = 600,
) -> Any:
    """Run ``moodle_regress/php/<script>`` against the Moodle tree at ``code_dir`` (the
    folder holding ``config.php``) and return the JSON result it printed.

    Raises :class:`PhpScriptError` with Moodle's message when the script throws, or
    with the last lines of output when it prints no result.
    """
    data = {**(payload or {}), "config": str(code_dir / "config.php")}
    _register_payload_secrets(data)
    path = packaged_path("php", script)
    stdin = json.dumps(data)
    result = run_php([str(path)], cwd=code_dir, title=script, log=log, stdin=stdin, timeout=timeout)
    return parse_output(script, result.stdout, result.stderr, log=log)


def parse_output(script: str, stdout: str, stderr: str = "", *, log: Path | None = None) -> Any:
    """The result of a script's output, or :class:`PhpScriptError` for its error."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            try:
                return json.loads(line[len(RESULT_PREFIX) :])
            except ValueError as exc:
                raise PhpScriptError(f"{script} printed a result that is not JSON: {exc}") from None
        if line.startswith(ERROR_PREFIX):
            raise _script_error(script, line[len(ERROR_PREFIX) :], log)
    raise PhpScriptError(
        f"{script} printed no result: {last_lines(redact(stdout + stderr))}",
        f"see {log}" if log else "run it by hand with the same JSON on stdin",
    )


def last_lines(output: str, count: int = 3) -> str:
    """The last ``count`` non-blank lines of ``output``, joined with " / "."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return " / ".join(lines[-count:]) or "no output"


def _script_error(script: str, text: str, log: Path | None) -> PhpScriptError:
    try:
        error = json.loads(text)
    except ValueError:
        error = {"message": text}
    message = redact(str(error.get("message") or "unknown error"))
    debuginfo = redact(str(error["debuginfo"])) if error.get("debuginfo") else None
    errorcode = str(error["errorcode"]) if error.get("errorcode") else None
    detail = f" [{errorcode}]" if errorcode else ""
    detail += f": {debuginfo}" if debuginfo else ""
    return PhpScriptError(
        f"{script} failed: {message}{detail}",
        f"see {log}" if log else None,
        errorcode=errorcode,
        debuginfo=debuginfo,
    )


def _register_payload_secrets(value: Any, name: str = "") -> None:
    """Register every string under a secret-sounding field name, at any depth."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _register_payload_secrets(item, str(key))
    elif isinstance(value, list):
        for item in value:
            _register_payload_secrets(item, name)
    elif isinstance(value, str) and (name == "key" or name.lower().endswith(_SECRET_SUFFIXES)):
        register_secret(value)
