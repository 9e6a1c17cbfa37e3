"""Real servers on loopback for the plant tests and bench/plant_load.py: a throwaway PostgreSQL
cluster (Debian's ``postgresql``) and nginx (Debian's ``nginx``) running the shipped
``deploy/nginx.conf`` with loopback upstreams. Nothing here is a fake: both are the real programs.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NGINX_CONF = REPO / "deploy" / "nginx.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout} s")


def pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


def nginx_bin() -> str | None:
    return shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx") or None


class Postgres:
    """A PostgreSQL cluster in a temporary folder, trust auth on 127.0.0.1 only, one database.

    PostgreSQL refuses to run as root: as root, the cluster belongs to the ``postgres`` user."""

    def __init__(self, folder: Path, db: str = "opassist") -> None:
        initdb, postgres = pg_bin("initdb"), pg_bin("postgres")
        if not initdb or not postgres:
            raise RuntimeError("PostgreSQL is not installed (make system-deps installs Debian's postgresql)")
        self.as_user: list[str] = []
        self._own: Path | None = None
        if os.geteuid() == 0:
            # the cluster's folder must be reachable by the postgres user: pytest's folders are not
            self.as_user = ["runuser", "-u", "postgres", "--"]
            folder = self._own = Path(tempfile.mkdtemp(prefix="opassist-pg-"))
            shutil.chown(folder, "postgres")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.data = folder / "pgdata"
        self.port = free_port()
        subprocess.run(
            [*self.as_user, initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            check=True,
            capture_output=True,
        )
        self.log = (folder / "postgres.log").open("wb")
        self.proc = subprocess.Popen(
            [
                *self.as_user,
                postgres,
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={folder}",
                "-c",
                "fsync=on",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        _wait_port(self.port, self.proc, "postgres")
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                with psycopg.connect(self.url_for("postgres", driver=False), autocommit=True) as c:
                    c.execute(f'CREATE DATABASE "{db}"')
                break
            except psycopg.OperationalError:  # "the database system is starting up"
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        self.url = self.url_for(db)

    def url_for(self, db: str, driver: bool = True) -> str:
        scheme = "postgresql+psycopg" if driver else "postgresql"
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # smart shutdown: waits for sessions; fast enough here
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()
        if self._own is not None:
            shutil.rmtree(self._own, ignore_errors=True)


def replica_env(llm_url: str, database_url: str, cache: Path, max_tokens: int = 64) -> dict[str, str]:
    """The settings of a ``python -m ui`` replica behind the loopback nginx (test_plant, plant_load):
    the shared model server and database, nginx on 127.0.0.1 as the trusted proxy, and a rate limit
    out of the way (every simulated operator arrives from nginx's one address; in a plant the
    limit is per operator through X-Forwarded-For)."""
    return {
        "OPASSIST_LLM__BASE_URL": llm_url,
        "OPASSIST_LLM__ANSWER_STYLE": "quote-first",
        "OPASSIST_LLM__MAX_TOKENS": str(max_tokens),
        "OPASSIST_UI__DATABASE_URL": database_url,
        "OPASSIST_UI__CACHE_DIR": str(cache),
        "OPASSIST_UI__TRUSTED_PROXIES": '["127.0.0.1"]',
        "OPASSIST_UI__RATE_PER_MINUTE": "100000",
        "OPASSIST_UI__RATE_BURST": "10000",
    }


def nginx_conf(upstreams: list[int], listen: int, folder: Path, htpasswd: Path | None = None) -> str:
    """The shipped deploy/nginx.conf with loopback replicas, a loopback listen port and the paths of
    a non-root run; every directive that decides behaviour (affinity, failover, streaming, headers)
    is the shipped one."""
    text = NGINX_CONF.read_text()
    servers = "".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in upstreams)
    text, n = re.subn(
        r"(# replicas:begin\n).*?(\s*# replicas:end)",
        lambda m: m.group(1) + servers.rstrip("\n") + m.group(2),
        text,
        flags=re.S,
    )
    assert n == 1, "deploy/nginx.conf lost its replica markers"
    text = text.replace("listen 80;", f"listen 127.0.0.1:{listen};")
    text = text.replace("/etc/nginx/htpasswd", str(htpasswd or folder / "htpasswd"))
    text = text.replace("user nginx;", "user root;" if os.geteuid() == 0 else "")
    text = text.replace("pid /run/nginx.pid;", f"pid {folder}/nginx.pid;")
    text = text.replace("error_log /dev/stderr warn;", f"error_log {folder}/error.log warn;")
    text = text.replace("access_log /dev/stdout opassist;", f"access_log {folder}/access.log opassist;")
    temp = "".join(
        f"    {k}_temp_path {folder}/{k}_temp;\n"
        for k in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return text.replace("http {\n", "http {\n" + temp, 1)


class Nginx:
    def __init__(self, folder: Path, upstreams: list[int], htpasswd: Path | None = None) -> None:
        exe = nginx_bin()
        if not exe:
            raise RuntimeError("nginx is not installed (make system-deps installs Debian's nginx)")
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        conf = folder / "nginx.conf"
        conf.write_text(nginx_conf(upstreams, self.port, folder, htpasswd))
        subprocess.run([exe, "-t", "-q", "-c", str(conf), "-p", str(folder)], check=True, capture_output=True)
        self.proc = subprocess.Popen(
            [exe, "-c", str(conf), "-p", str(folder), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, self.proc, "nginx")

    def access_log(self) -> str:
        p = self.folder / "access.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class UIProcess:
    """``python -m ui`` as a real process (as an admin starts it), output in a log file."""

    def __init__(
        self, index: Path, env: dict[str, str], log_path: Path, timeout: float = 180, port: int = 0
    ) -> None:
        import httpx

        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ui", "--index", str(index), "--port", str(self.port)],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                raise RuntimeError(f"ui exited: {self.log()}")
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"ui did not start within {timeout} s: {self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def stop(self, timeout: float = 20) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:  # open streaming connections can hold a graceful shutdown
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return int(self.proc.returncode)
