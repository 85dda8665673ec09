"""How long ``up`` and ``upgrade`` take on each database engine, and how much time
the sandbox adds to Moodle's own CLI installer and upgrader.

    .venv/bin/python benchmarks/bench_sandbox.py [--from 4.5] [--to 5.0]
        [--db postgres,mariadb] [--no-baseline] [--serving]

For each engine (``--db``, default both, one after the other): brings up a sandbox
from the ``--from`` code tree and upgrades it to ``--to`` (timed whole, as a user sees
them), then runs Moodle's own ``admin/cli/install_database.php`` and
``admin/cli/upgrade.php`` alone on a second database of the same server (timed alone;
``--no-baseline`` skips this).  Prints the engines side by side: the times, Moodle's
own step inside them, the sandbox's own steps and their share of Moodle alone (the
target: under 15%).  ``--serving`` also measures request throughput of the running
site with PHP's built-in server, and with php-fpm behind nginx when both are installed.

Everything happens in a temporary home directory, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import requests

from moodle_regress.config import load_settings
from moodle_regress.phprun import PHP_INI, php_command
from moodle_regress.sandbox import moodle, server
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.db import ENGINE_NAMES, engine_for
from moodle_regress.sandbox.manager import Sandbox, SandboxManager, copy_code


def timed_cli(tree_root: Path, script: str, args: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(
        [*php_command(), str(tree_root / "admin" / "cli" / script), *args],
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def baseline(box: Sandbox, old: Path, new: Path, work: Path) -> tuple[float, float]:
    """Moodle's installer, then its upgrader, alone: same cluster, own database."""
    state = box.state()
    db = state.db.renamed("baseline")
    engine_for(db).create_database(db)
    dataroot = work / "baseline-data"
    dataroot.mkdir()
    times: list[float] = []
    for source in (old, new):
        target = work / f"baseline-code-{len(times)}"
        tree = copy_code(inspect_tree(source), target)
        moodle.write_config(
            tree,
            moodle.render_config_php(
                name="baseline", db=db, wwwroot="http://127.0.0.1:9", dataroot=dataroot,
                layout=tree.layout,
            ),
        )  # fmt: skip
        if not times:
            times.append(
                timed_cli(tree.root, "install_database.php",
                          ["--agree-license", "--lang=en", "--adminpass=Baseline-1!x",
                           "--adminemail=a@example.invalid", "--fullname=b", "--shortname=b"])
            )  # fmt: skip
        else:
            times.append(
                timed_cli(tree.root, "upgrade.php", ["--non-interactive", "--allow-unstable"])
            )
    return times[0], times[1]


def throughput(url: str, token: str, *, seconds: float = 15.0, clients: int = 4) -> str:
    """Requests per second and median latency: a web service call and a page."""
    session = requests.Session()
    targets = [
        ("POST", f"{url}/webservice/rest/server.php",
         {"wstoken": token, "wsfunction": "core_webservice_get_site_info",
          "moodlewsrestformat": "json"}),
        ("GET", f"{url}/login/index.php", None),
    ]  # fmt: skip
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def worker(index: int) -> None:
        n = index
        while time.monotonic() < deadline:
            method, target, data = targets[n % len(targets)]
            started = time.monotonic()
            session.request(method, target, data=data, timeout=60).raise_for_status()
            latencies.append(time.monotonic() - started)
            n += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return (
        f"{len(latencies) / seconds:6.1f} req/s, "
        f"median {statistics.median(latencies) * 1000:.0f} ms ({clients} clients)"
    )


_FASTCGI_PARAMS = {
    "SCRIPT_FILENAME": "$document_root$fastcgi_script_name",
    "SCRIPT_NAME": "$fastcgi_script_name",
    "PATH_INFO": "$fastcgi_path_info",
    "QUERY_STRING": "$query_string",
    "REQUEST_METHOD": "$request_method",
    "CONTENT_TYPE": "$content_type",
    "CONTENT_LENGTH": "$content_length",
    "REQUEST_URI": "$request_uri",
    "DOCUMENT_URI": "$document_uri",
    "DOCUMENT_ROOT": "$document_root",
    "SERVER_PROTOCOL": "$server_protocol",
    "REQUEST_SCHEME": "$scheme",
    "GATEWAY_INTERFACE": "CGI/1.1",
    "REMOTE_ADDR": "$remote_addr",
    "REMOTE_PORT": "$remote_port",
    "SERVER_ADDR": "$server_addr",
    "SERVER_PORT": "$server_port",
    "SERVER_NAME": "$server_name",
    "REDIRECT_STATUS": "200",
}


def fpm_nginx(box: Sandbox, token: str, work: Path) -> str | None:
    """The same site behind php-fpm (4 children) + nginx, on the sandbox's own port.

    The binaries come from PATH or from MOODLE_REGRESS_BENCH_FPM / _NGINX (e.g.
    unpacked with ``apt-get download nginx php8.2-fpm`` and ``dpkg -x``: nothing needs
    installing).  PHP extensions and settings are the CLI's (PHP_INI_SCAN_DIR)."""
    fpm = os.environ.get("MOODLE_REGRESS_BENCH_FPM") or shutil.which("php-fpm8.2")
    nginx = os.environ.get("MOODLE_REGRESS_BENCH_NGINX") or shutil.which("nginx")
    if not (fpm and nginx):
        return None
    work.mkdir(parents=True, exist_ok=True)
    port = box.state().http_port
    sock = work / "fpm.sock"
    admin_values = {**PHP_INI, **server.SERVER_INI}
    (work / "fpm.conf").write_text(
        f"[global]\npid = {work}/fpm.pid\nerror_log = {work}/fpm.log\ndaemonize = no\n"
        f"[www]\nuser = root\ngroup = root\nlisten = {sock}\npm = static\n"
        f"pm.max_children = {server.WORKERS}\n"
        + "".join(f"php_admin_value[{k}] = {v}\n" for k, v in admin_values.items())
    )
    params = "".join(f"      fastcgi_param {k} {v};\n" for k, v in _FASTCGI_PARAMS.items())
    temp = "".join(
        f"  {kind}_temp_path {work}/{kind};\n"
        for kind in ("client_body", "fastcgi", "proxy", "uwsgi", "scgi")
    )
    (work / "nginx.conf").write_text(
        f"user root;\nworker_processes 1;\npid {work}/nginx.pid;\nerror_log {work}/nginx.log;\n"
        f"events {{}}\nhttp {{\n  access_log off;\n{temp}"
        f"  server {{\n    listen 127.0.0.1:{port};\n    root {box.tree().webroot};\n"
        "    location ~ [^/]\\.php(/|$) {\n"
        "      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;\n"
        f"      fastcgi_pass unix:{sock};\n{params}    }}\n  }}\n}}\n"
    )
    server.stop(box.pidfile)
    env = {**os.environ, "PHP_INI_SCAN_DIR": "/etc/php/8.2/cli/conf.d"}
    fpm_proc = subprocess.Popen(
        [fpm, "-R", "-c", "/etc/php/8.2/cli/php.ini", "-y", str(work / "fpm.conf"), "-F"], env=env
    )
    nginx_proc = subprocess.Popen(
        [nginx, "-p", str(work), "-e", str(work / "nginx.err"), "-c", str(work / "nginx.conf"),
         "-g", "daemon off;"]
    )  # fmt: skip
    try:
        time.sleep(2)
        return throughput(f"http://127.0.0.1:{port}", token)
    finally:
        nginx_proc.terminate()
        fpm_proc.terminate()
        nginx_proc.wait()
        fpm_proc.wait()
        box.start()


def compare_serving(box: Sandbox, work: Path) -> None:
    token = box.descriptor().token.get_secret_value()
    box.start()
    throughput(box.url(), token, seconds=3)  # warm OPcache and Moodle's caches
    builtin = throughput(box.url(), token)
    fpm = fpm_nginx(box, token, work / "fpm")
    print(f"php -S, {server.WORKERS} workers:  {builtin}")
    print(f"php-fpm + nginx:        {fpm or 'not available (php8.2-fpm, nginx)'}")


@dataclass
class Figures:
    """One engine's measurements (seconds)."""

    up: float
    upgrade: float
    moodle_install: float
    moodle_upgrade: float
    alone_install: float | None
    alone_upgrade: float | None
    up_steps: dict[str, float]
    upgrade_steps: dict[str, float]


def measure(engine: str, old: Path, new: Path, *, alone: bool, serving: bool) -> Figures:
    """Up and upgrade on ``engine`` in a temporary home, removed at the end."""
    work = Path(tempfile.mkdtemp(prefix=f"bench-sandbox-{engine}-"))
    manager = SandboxManager(replace(load_settings(), home=work / "home"))
    try:
        started = time.monotonic()
        manager.up("bench", old, engine=engine)
        t_up = time.monotonic() - started
        box = manager.get("bench")
        up_steps = dict(manager.steps.timings)
        upgrade = box.upgrade(new)
        t_install, t_moodle_upgrade = baseline(box, old, new, work) if alone else (None, None)
        if serving:
            print()
            compare_serving(box, work)
    finally:
        for status in manager.list():
            manager.sandbox(status.name).destroy()
        shutil.rmtree(work, ignore_errors=True)
    return Figures(
        up=t_up,
        upgrade=upgrade.seconds,
        moodle_install=up_steps["moodle_install"],
        moodle_upgrade=upgrade.timings["moodle_upgrade"],
        alone_install=t_install,
        alone_upgrade=t_moodle_upgrade,
        up_steps=up_steps,
        upgrade_steps=dict(upgrade.timings),
    )


def print_side_by_side(figures: dict[str, Figures], old: str, new: str) -> None:
    """Wall-clock figures suffer from whatever else the machine does meanwhile; the
    sandbox's own steps (everything but Moodle's installer/upgrader inside it) do not."""
    engines = list(figures)

    def row(label: str, values: list[float | None], unit: str = "s") -> None:
        cells = "".join(f"{'-' if v is None else f'{v:.1f} {unit}':>14}" for v in values)
        print(f"{label:34}{cells}")

    print()
    print(f"{'':34}" + "".join(f"{e:>14}" for e in engines))
    runs = [figures[e] for e in engines]
    for label, totals, inside, alone in (
        (
            f"up {old}",
            [f.up for f in runs],
            [f.moodle_install for f in runs],
            [f.alone_install for f in runs],
        ),
        (
            f"upgrade {old} -> {new}",
            [f.upgrade for f in runs],
            [f.moodle_upgrade for f in runs],
            [f.alone_upgrade for f in runs],
        ),
    ):
        own = [t - m for t, m in zip(totals, inside, strict=True)]
        row(label, list(totals))
        row("  Moodle's own step inside it", list(inside))
        row("  the sandbox's own steps", list(own))
        row("  Moodle's step run alone", alone)
        shares = [o / a * 100 if a else None for o, a in zip(own, alone, strict=True)]
        row("  own steps / Moodle alone", shares, "%")
    for engine in engines:
        steps = {k: round(v, 1) for k, v in figures[engine].up_steps.items()}
        print(f"\n{engine}: steps of up (s):      {steps}")
        steps = {k: round(v, 1) for k, v in figures[engine].upgrade_steps.items()}
        print(f"{engine}: steps of upgrade (s): {steps}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="old", default="4.5")
    parser.add_argument("--to", dest="new", default="5.0")
    parser.add_argument(
        "--db", default=",".join(ENGINE_NAMES), help="engines, comma-separated, in this order"
    )
    parser.add_argument("--no-baseline", action="store_true", help="skip Moodle run alone")
    parser.add_argument("--serving", action="store_true", help="also compare web servers")
    parser.add_argument(
        "--serving-only", metavar="SANDBOX", help="only compare web servers on this sandbox"
    )
    args = parser.parse_args()
    base = load_settings()
    if args.serving_only:
        with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
            compare_serving(SandboxManager(base).get(args.serving_only), Path(tmp))
        return
    old, new = base.code_tree(args.old), base.code_tree(args.new)
    if old is None or new is None:
        raise SystemExit(f"configure code trees for {args.old} and {args.new} (README, Live tests)")
    engines = [e.strip() for e in args.db.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINE_NAMES))
    if unknown:
        raise SystemExit(f"unknown engine(s) {unknown}: choose from {', '.join(ENGINE_NAMES)}")
    figures = {
        engine: measure(engine, old, new, alone=not args.no_baseline, serving=args.serving)
        for engine in engines
    }
    print_side_by_side(figures, args.old, args.new)


if __name__ == "__main__":
    main()
