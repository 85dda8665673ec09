"""How much time the sandbox adds to Moodle's own CLI installer and upgrader.

    .venv/bin/python benchmarks/bench_sandbox.py [--from 4.5] [--to 5.0] [--serving]

Brings up a sandbox from the ``--from`` code tree and upgrades it to ``--to`` (timed
whole, as a user sees them), then runs Moodle's own ``admin/cli/install_database.php``
and ``admin/cli/upgrade.php`` alone on a second database of the same cluster (timed
alone) and prints both with the ratio.  The target: the sandbox's overhead is under
15%.  ``--serving`` also measures request throughput of the running site with PHP's
built-in server, and with php-fpm behind nginx when both are installed.

Everything happens in a temporary home directory, removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import requests

from moodle_regress.config import load_settings
from moodle_regress.sandbox import moodle, postgres, server
from moodle_regress.sandbox.codetree import inspect_tree
from moodle_regress.sandbox.manager import Sandbox, SandboxManager, copy_code
from moodle_regress.sandbox.postgres import DatabaseConfig
from moodle_regress.site import SiteDescriptor


def timed_cli(tree_root: Path, script: str, args: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(
        [*moodle.php_args(), str(tree_root / "admin" / "cli" / script), *args],
        check=True,
        capture_output=True,
    )
    return time.monotonic() - started


def baseline(box: Sandbox, old: Path, new: Path, work: Path) -> tuple[float, float]:
    """Moodle's installer, then its upgrader, alone: same cluster, own database."""
    state = box.state()
    db = DatabaseConfig(**{**state.db.model_dump(), "name": "baseline"})
    postgres.create_database(db)
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


def fpm_nginx(box: Sandbox, descriptor: SiteDescriptor, work: Path) -> str | None:
    """The same site behind php-fpm + nginx, if both are installed."""
    fpm = shutil.which("php-fpm8.2") or shutil.which("php-fpm")
    nginx = shutil.which("nginx")
    if not (fpm and nginx):
        return None
    port = server.free_port()
    sock = work / "fpm.sock"
    (work / "fpm.conf").write_text(
        f"[global]\npid = {work}/fpm.pid\nerror_log = {work}/fpm.log\ndaemonize = no\n"
        f"[www]\nlisten = {sock}\npm = static\npm.max_children = 4\n"
        "php_admin_value[max_input_vars] = 5000\nphp_admin_value[opcache.enable] = 1\n"
        "php_admin_value[display_errors] = 0\n"
    )
    webroot = box.tree().webroot
    (work / "nginx.conf").write_text(
        f"worker_processes 1;\npid {work}/nginx.pid;\nerror_log {work}/nginx.log;\n"
        "events {}\nhttp {\n"
        f"  access_log off;\n  client_body_temp_path {work};\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n    root {webroot};\n"
        "    location ~ [^/]\\.php(/|$) {\n"
        "      fastcgi_split_path_info ^(.+?\\.php)(/.*)$;\n"
        f"      fastcgi_pass unix:{sock};\n      include /etc/nginx/fastcgi_params;\n"
        "      fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;\n"
        "      fastcgi_param PATH_INFO $fastcgi_path_info;\n    }\n  }\n}\n"
    )
    fpm_proc = subprocess.Popen([fpm, "-R", "-y", str(work / "fpm.conf"), "-F"])
    nginx_proc = subprocess.Popen([nginx, "-c", str(work / "nginx.conf"), "-g", "daemon off;"])
    try:
        time.sleep(2)
        # Moodle redirects to its wwwroot: measure through the sandbox's own port by
        # pointing config.php at nginx for the duration.
        server.stop(box.pidfile)
        state = box.state()
        state.http_port = port
        box._write_config(state, box.tree())
        result = throughput(f"http://127.0.0.1:{port}", descriptor.token.get_secret_value())
    finally:
        nginx_proc.terminate()
        fpm_proc.terminate()
        nginx_proc.wait()
        fpm_proc.wait()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--from", dest="old", default="4.5")
    parser.add_argument("--to", dest="new", default="5.0")
    parser.add_argument("--serving", action="store_true")
    args = parser.parse_args()
    base = load_settings()
    old, new = base.code_tree(args.old), base.code_tree(args.new)
    if old is None or new is None:
        raise SystemExit(f"configure code trees for {args.old} and {args.new} (README, Live tests)")
    work = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    settings = replace(base, home=work / "home")
    manager = SandboxManager(settings)
    try:
        started = time.monotonic()
        descriptor = manager.up("bench", old)
        t_up = time.monotonic() - started
        box = manager.get("bench")
        serving_builtin = (
            throughput(descriptor.url, descriptor.token.get_secret_value()) if args.serving else ""
        )
        upgrade = box.upgrade(new)
        t_upgrade = upgrade.seconds
        t_install, t_moodle_upgrade = baseline(box, old, new, work)
        serving_fpm = fpm_nginx(box, descriptor, work) if args.serving else None
    finally:
        for status in manager.list():
            manager.sandbox(status.name).destroy()
        shutil.rmtree(work, ignore_errors=True)
    print()
    print(f"{'':28}{'sandbox':>10}{'Moodle alone':>14}{'ratio':>8}{'overhead':>10}")
    for label, ours, theirs in (
        (f"up {args.old}", t_up, t_install),
        (f"upgrade {args.old} -> {args.new}", t_upgrade, t_moodle_upgrade),
    ):
        print(
            f"{label:28}{ours:9.1f}s{theirs:13.1f}s{ours / theirs:8.2f}"
            f"{(ours / theirs - 1) * 100:9.1f}%"
        )
    print("\nsteps of up and upgrade (s):", {k: round(v, 1) for k, v in upgrade.timings.items()})
    if args.serving:
        print(f"\nphp -S, {server.WORKERS} workers:  {serving_builtin}")
        print(f"php-fpm + nginx:        {serving_fpm or 'not installed (php8.2-fpm, nginx)'}")


if __name__ == "__main__":
    main()
