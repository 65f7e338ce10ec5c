"""What `make load` runs against: a PostgreSQL database of its own holding the synthetic ledger,
an editor with API tokens, and gunicorn under the production settings as `make serve` starts it.
"""

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dj_database_url
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).with_name("gunicorn"))
EDITOR = "load-editor"


class Failure(Exception):
    pass


def run(args: list[str], env: dict, log: Path) -> None:
    with open(log, "ab") as output:
        done = subprocess.run(args, cwd=ROOT, env=env, stdout=output, stderr=output, timeout=900)
    if done.returncode:
        tail = log.read_text(errors="replace")[-3000:]
        raise Failure(f"{' '.join(args)} failed ({done.returncode}):\n{tail}")


class Database:
    """The load test's own PostgreSQL database, created empty and dropped at the end."""

    def __init__(self, url: str):
        self.url = url
        self.config = dj_database_url.parse(url)
        self.name = self.config["NAME"]

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(
            dbname="postgres",
            host=self.config["HOST"] or None,
            port=self.config["PORT"] or None,
            user=self.config["USER"] or None,
            password=self.config["PASSWORD"] or None,
            autocommit=True,
        )

    def drop(self) -> None:
        with self.admin() as connection:
            name = sql.Identifier(self.name)
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))

    def create(self) -> None:
        self.drop()
        with self.admin() as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def version(self) -> str:
        with self.admin() as connection:
            return f"PostgreSQL {connection.execute('SHOW server_version').fetchone()[0]}"


def production_env(database: Database, workdir: Path) -> dict[str, str]:
    """The environment docs/operations.md asks for, for a server on loopback without TLS.

    The anonymous API rate is raised: the generator's users all come from one address, and
    the production default (600/hour per address) would turn most of their reads into 429s."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("LEDGER_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="ledger.settings.production",
        DATABASE_URL=database.url,
        LEDGER_SECRET_KEY=secrets.token_urlsafe(64),
        LEDGER_ALLOWED_HOSTS="127.0.0.1",
        LEDGER_SECURE_SSL_REDIRECT="0",
        LEDGER_API_ANON_RATE="1000000/hour",
        LEDGER_STATIC_ROOT=str(workdir / "static"),
        PYTHONUNBUFFERED="1",
    )
    return env


def prepare(env: dict, rows: int, workdir: Path, tokens: int) -> dict[str, int]:
    """Migrate, load the synthetic ledger, and make an editor with `tokens` API tokens (written
    to workdir/tokens.txt). Returns the ledger's pledge and source counts for the generator."""
    log = workdir / "prepare.log"
    run([PYTHON, "manage.py", "migrate", "--noinput"], env, log)
    run([PYTHON, "-m", "benchmarks.synthetic", str(rows)], env, log)
    script = f"""
from django.contrib.auth.models import Permission, User
from knox.models import AuthToken
from aid.models import Pledge
from sources.models import Source
# Readers see verified pledges only: the synthetic ledger is loaded as drafts.
Pledge.objects.update(review=Pledge.Review.VERIFIED)
editor = User.objects.create_user({EDITOR!r}, password=None, is_staff=True)
editor.user_permissions.set(Permission.objects.filter(
    codename__in=[f"{{a}}_{{m}}" for a in ("add", "change", "view")
                  for m in ("pledge", "line", "pledgesource")]))
with open({str(workdir / "tokens.txt")!r}, "w") as tokens:
    for _ in range({tokens}):
        print(AuthToken.objects.create(editor)[1], file=tokens)
print(Pledge.objects.count(), Source.objects.count())
"""
    out = workdir / "counts.txt"
    run([PYTHON, "manage.py", "shell", "-c", script], env, out)
    pledges, sources = out.read_text().split()[-2:]
    return {"pledges": int(pledges), "sources": int(sources)}


class Gunicorn:
    """`make serve`'s steps (collectstatic, then gunicorn with its arguments) on a free port."""

    def __init__(self, env: dict, workers: int, workdir: Path):
        self.env, self.workers, self.workdir = env, workers, workdir
        self.log_path = workdir / "gunicorn.log"

    def __enter__(self) -> "Gunicorn":
        run([PYTHON, "manage.py", "collectstatic", "--noinput"], self.env, self.log_path)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.log_path, "ab")  # closed in __exit__
        self.process = subprocess.Popen(
            [GUNICORN, "ledger.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(self.workers), "--access-logfile", "-"],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(self.worker_pids()) < self.workers or not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise Failure(f"gunicorn did not start:\n{self.log_text()[-3000:]}")
            time.sleep(0.2)
        return self

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/", timeout=5):
                return True
        except OSError:
            return False

    def worker_pids(self) -> set[int]:
        """The master's children: a worker that hung and was killed comes back with a new pid."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return {int(pid) for pid in children.read_text().split()}
        except OSError:
            return set()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def worker_timeouts(self) -> int:
        return len(re.findall(r"WORKER TIMEOUT", self.log_text()))

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def cpu_snapshot(gunicorn: int, locust: int) -> dict[str, float]:
    """CPU seconds used so far by the machine and by each party to the run, from /proc: the
    machine is shared, and a figure means little without what else was running."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    idle = int(fields[3]) + int(fields[4])  # idle and iowait
    snapshot = {"machine": (sum(map(int, fields[:8])) - idle) / tick, "gunicorn": 0.0}
    snapshot["locust"] = process_seconds(locust, tick)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        pid, command = int(stat.parent.name), text[text.index("(") + 1 : text.rindex(")")]
        if command == "postgres":
            snapshot[f"postgres {pid}"] = process_seconds(pid, tick)
        elif pid == gunicorn or parent(text) == gunicorn:
            snapshot["gunicorn"] += process_seconds(pid, tick)
    return snapshot


def parent(stat_text: str) -> int:
    return int(stat_text[stat_text.rindex(")") + 2 :].split()[1])


def process_seconds(pid: int, tick: int) -> float:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / tick  # utime, stime


def cpu_shares(before: dict[str, float], after: dict[str, float], seconds: float) -> dict:
    """Percent of one core each party used between two snapshots (200 % = both cores).
    PostgreSQL is its backends that lived through the run: its share is a floor."""
    shares = {
        name: (after[name] - before.get(name, 0.0)) / seconds * 100
        for name in ("machine", "gunicorn", "locust")
    }
    shares["postgres"] = (
        sum(
            after[name] - before[name]
            for name in after
            if name.startswith("postgres ") and name in before
        )
        / seconds
        * 100
    )
    shares["other"] = max(
        0.0, shares["machine"] - shares["gunicorn"] - shares["locust"] - shares["postgres"]
    )
    return shares
