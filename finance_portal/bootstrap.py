"""Make sure PostgreSQL and Redis answer, then create the database: the first step of ``make run``/``make test``.

Run as ``python -m finance_portal.bootstrap``. No Django here (settings are not needed yet):

* PostgreSQL at DATABASE_URL and Redis at REDIS_URL (defaults 127.0.0.1:5432 and :6379) are tried first.
* Where one does not answer and its server programs are installed, a private instance is started with its
  data under ``.run/`` on a free port, and its URL is written to ``.run/local.env``, which the settings read
  for variables the environment leaves unset. Where the programs are missing, one message says how to
  get them, and the exit code is 2.
* The database named in DATABASE_URL is created if missing.
* The translation catalogues (``locale/*/LC_MESSAGES/*.po``) are compiled to ``.mo`` with GNU ``msgfmt``
  where the ``.mo`` is missing or older (the ``.mo`` files are not committed).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import psycopg2
import redis
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / ".run"
LOCAL_ENV = RUN / "local.env"

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/finance_portal"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def say(message: str) -> None:
    print(f"[bootstrap] {message}", flush=True)


def read_local_env() -> dict[str, str]:
    values: dict[str, str] = {}
    if LOCAL_ENV.exists():
        for line in LOCAL_ENV.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
    return values


def write_local_env(values: dict[str, str]) -> None:
    RUN.mkdir(exist_ok=True)
    lines = ["# Written by finance_portal.bootstrap: private services it started. Delete to forget them."]
    lines += [f"{k}={v}" for k, v in sorted(values.items())]
    LOCAL_ENV.write_text("\n".join(lines) + "\n")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- PostgreSQL --------------------------------------------------------------------------------------------


def pg_answers(url: str) -> bool:
    parsed = urlparse(url)
    try:
        conn = psycopg2.connect(
            host=parsed.hostname or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or "postgres",
            password=parsed.password or None,
            dbname="postgres",
            connect_timeout=3,
        )
    except psycopg2.OperationalError:
        return False
    conn.close()
    return True


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def start_private_postgres() -> str:
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl):
        say(
            "PostgreSQL does not answer and is not installed. Install it (Debian: 'apt-get install postgresql') "
            "or point DATABASE_URL at a running server."
        )
        sys.exit(2)
    data = RUN / "pgdata"
    port_file = RUN / "pg.port"
    as_user: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use the postgres system user
        as_user = ["runuser", "-u", "postgres", "--"]
        RUN.mkdir(exist_ok=True)
    if not data.exists():
        say(f"starting a private PostgreSQL under {data.relative_to(ROOT)}")
        data.mkdir(parents=True)
        if as_user:
            shutil.chown(data, "postgres")
        subprocess.run([*as_user, initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
                       check=True, stdout=subprocess.DEVNULL)
    port = int(port_file.read_text()) if port_file.exists() else free_port()
    url = f"postgres://postgres@127.0.0.1:{port}/finance_portal"
    if not pg_answers(url):
        subprocess.run(
            [*as_user, pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-w",
             "-o", f"-p {port} -k /tmp -c listen_addresses=127.0.0.1", "start"],
            check=True, stdout=subprocess.DEVNULL,
        )
        port_file.write_text(str(port))
    say(f"private PostgreSQL answers on 127.0.0.1:{port}")
    return url


def ensure_database(url: str) -> None:
    parsed = urlparse(url)
    name = parsed.path.lstrip("/") or "finance_portal"
    conn = psycopg2.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password or None,
        dbname="postgres",
        connect_timeout=5,
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            say(f"created database {name}")
    conn.close()


# --- Redis -------------------------------------------------------------------------------------------------


def redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def start_private_redis() -> str:
    server = shutil.which("redis-server")
    if not server:
        say(
            "Redis does not answer and is not installed. Install it (Debian: 'apt-get install redis-server') "
            "or point REDIS_URL at a running server."
        )
        sys.exit(2)
    port_file = RUN / "redis.port"
    port = int(port_file.read_text()) if port_file.exists() else free_port()
    url = f"redis://127.0.0.1:{port}/0"
    if not redis_answers(url):
        say(f"starting a private Redis on 127.0.0.1:{port}")
        (RUN / "redis").mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [server, "--daemonize", "yes", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", str(RUN / "redis"), "--logfile", str(RUN / "redis" / "redis.log")],
            check=True,
        )
        port_file.write_text(str(port))
        for _ in range(50):
            if redis_answers(url):
                break
            time.sleep(0.1)
    return url


def with_database_name(url: str, name: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path="/" + name))


# The project's catalogue (LOCALE_PATHS) and the apps' own (Django finds an installed app's locale/ folder).
CATALOGUE_GLOBS = ("locale/*/LC_MESSAGES/*.po", "*/locale/*/LC_MESSAGES/*.po", "finance_portal/*/locale/*/LC_MESSAGES/*.po")


def catalogues(root: Path = ROOT) -> list[Path]:
    """Every translation catalogue (``.po``) of the project."""
    return sorted({po for pattern in CATALOGUE_GLOBS for po in root.glob(pattern)})


def compile_messages(root: Path = ROOT) -> list[Path]:
    """Compile every ``locale/<lang>/LC_MESSAGES/*.po`` under ``root`` whose ``.mo`` is missing or older, with
    GNU ``msgfmt --check`` (what Django's ``compilemessages`` runs); returns the ``.mo`` files written.
    Raises ``RuntimeError`` when ``msgfmt`` is missing or refuses a catalogue."""
    written: list[Path] = []
    msgfmt = shutil.which("msgfmt")
    for po in catalogues(root):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        if msgfmt is None:
            raise RuntimeError("msgfmt is missing: install gettext (apt-get install gettext) to compile translations.")
        result = subprocess.run(
            [msgfmt, "--check", "-o", str(mo), str(po)], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"msgfmt refused {po.relative_to(root)}: {result.stderr.strip()}")
        written.append(mo)
    return written


# Browser assets from npm (package.json), copied where the static files finder serves them (STATICFILES_DIRS):
# the pages load them from the project, never from a CDN. A source map reference is dropped with the map.
VENDOR_ASSETS = {
    "htmx.org/dist/htmx.min.js": "js/htmx.min.js",
    "chart.js/dist/chart.umd.min.js": "js/chart.umd.min.js",
}
VENDOR_DIR = RUN / "vendor"


def copy_vendor_assets(root: Path = ROOT, target: Path = VENDOR_DIR) -> list[Path]:
    """Copy the npm assets of ``VENDOR_ASSETS`` under ``target``; raises ``RuntimeError`` when one is missing
    (``npm install`` has not run)."""
    written = []
    for source, dest in VENDOR_ASSETS.items():
        src = root / "node_modules" / source
        if not src.is_file():
            raise RuntimeError(f"{src.relative_to(root)} is missing: run npm install (make deps).")
        out = target / dest
        out.parent.mkdir(parents=True, exist_ok=True)
        text = src.read_text(encoding="utf-8")
        lines = [line for line in text.splitlines() if not line.startswith("//# sourceMappingURL=")]
        text = "\n".join(lines) + "\n"
        if not out.exists() or out.read_text(encoding="utf-8") != text:
            out.write_text(text, encoding="utf-8")
            written.append(out)
    return written


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 (may run under an older system python3)
        say("Python 3.11 or newer is needed.")
        return 2
    try:
        for mo in compile_messages():
            say(f"compiled {mo.relative_to(ROOT)}")
        for asset in copy_vendor_assets():
            say(f"copied {asset.relative_to(ROOT)}")
    except RuntimeError as err:
        say(str(err))
        return 2
    local = read_local_env()
    wanted: dict[str, str] = {}

    db_url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if pg_answers(db_url):
        say(f"PostgreSQL answers at {urlparse(db_url).hostname}:{urlparse(db_url).port or 5432}")
    elif "DATABASE_URL" in os.environ:
        say(f"PostgreSQL does not answer at DATABASE_URL ({urlparse(db_url).hostname}): start it or fix the URL.")
        return 2
    else:
        db_url = start_private_postgres()
        wanted["DATABASE_URL"] = db_url
    ensure_database(db_url)

    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    if redis_answers(redis_url):
        say(f"Redis answers at {urlparse(redis_url).hostname}:{urlparse(redis_url).port or 6379}")
    elif "REDIS_URL" in os.environ:
        say("Redis does not answer at REDIS_URL: start it or fix the URL.")
        return 2
    else:
        redis_url = start_private_redis()
        wanted["REDIS_URL"] = redis_url

    if wanted != {k: v for k, v in local.items() if k in ("DATABASE_URL", "REDIS_URL")}:
        if wanted:
            write_local_env(wanted)
        elif LOCAL_ENV.exists():
            LOCAL_ENV.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
