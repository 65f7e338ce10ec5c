"""Making a release: the public's lines CSV, what changed since the previous release, and the
data package that describes both, written once into the release's own folder, then its record.

The files are written into a hidden temporary folder beside the others, each synced to disk,
and the folder is renamed into place last: a release's folder is complete or absent. One release
is made at a time (a lock file in LEDGER_RELEASE_DIR), so each compares with the one before."""

import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from aid.lines.datapackage import descriptor
from aid.lines.export import export_csv
from aid.models import Category, Release
from aid.releases.changes import Reading, compare
from aid.selectors import visible_lines
from ledger.version import software_version

LINES, PACKAGE, CHANGES = "lines.csv", "datapackage.json", "changes.json"
FILES = (LINES, PACKAGE, CHANGES)
TITLE = "Military-aid commitment ledger"


def folder_of(release: Release) -> Path:
    return settings.LEDGER_RELEASE_DIR / release.name


def write_once(path: Path, chunks: Iterable[str]) -> dict:
    """Write the text as it comes, hashing it on the way, and sync it to disk; refuses a file
    that exists. Returns its entry for `Release.files`."""
    digest, size = hashlib.sha256(), 0
    with open(path, "xb") as handle:
        for chunk in chunks:
            data = chunk.encode("utf-8")
            digest.update(data)
            handle.write(data)
            size += len(data)
        handle.flush()
        os.fsync(handle.fileno())
    return {"name": path.name, "bytes": size, "sha256": digest.hexdigest()}


def sha256_of(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def sync_folder(path: Path) -> None:
    """Make a folder's entries (new files, a rename) durable, as a file's fsync does its data."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def one_at_a_time(root: Path):
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextmanager
def one_snapshot():
    """On PostgreSQL the export's queries read one snapshot of the ledger (REPEATABLE READ), so
    no edit lands between its lines and their sources. SQLite would lock out every editor for
    the export's duration instead; there the exporter's own care applies (aid.lines.export)."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def categories_level_1() -> dict[str, str]:
    """Each category's level-1 category (itself at level 1), recorded in the data package so
    that the release's totals can be recomputed from its own files."""
    pairs = Category.objects.values_list("slug", "parent__slug").order_by("slug")
    return {slug: parent or slug for slug, parent in pairs}


def previous_reading(previous: Release) -> Reading:
    """The previous release's lines as its files hold them, once they are shown unchanged."""
    folder = folder_of(previous)
    if sha256_of(folder / LINES) != previous.file(LINES)["sha256"]:
        raise ValidationError(
            f"Release {previous.name}'s {LINES} no longer matches its sha256: restore "
            f"{folder} from a backup before making another release."
        )
    package = json.loads((folder / PACKAGE).read_text(encoding="utf-8"))
    return Reading(folder / LINES, package["category_level_1"])


def citation(release: Release) -> str:
    url = settings.LEDGER_PUBLIC_URL + reverse("release-detail", kwargs={"name": release.name})
    return f"{TITLE}, release {release.name} ({release.created_at.date().isoformat()}), {url}"


def package_of(release: Release, level_1: dict[str, str], written: list[dict]) -> dict:
    """The lines CSV's data package (aid.lines.datapackage) with what a citing reader needs:
    which release, made when and by which software, its licence, how to cite it, and the size
    and sha256 of the other files (this file's own are in the release's record and the API)."""
    package = descriptor(LINES, title=f"{TITLE}: release {release.name}")
    lines = next(each for each in written if each["name"] == LINES)
    package["resources"][0] |= {"bytes": lines["bytes"], "hash": f"sha256:{lines['sha256']}"}
    return package | {
        "created": release.created_at.isoformat(),
        "release": {
            "name": release.name,
            "created_at": release.created_at.isoformat(),
            "note": release.note,
            "previous": release.previous.name if release.previous else None,
            "pledges": release.pledges,
            "lines": release.lines,
        },
        "software": {"name": "aid-ledger", **software_version()},
        "licenses": [
            {
                "name": settings.LEDGER_RELEASE_LICENSE,
                "path": settings.LEDGER_RELEASE_LICENSE_URL,
            }
        ],
        "attribution": settings.LEDGER_RELEASE_ATTRIBUTION,
        "citation": citation(release),
        "files": written,
        "category_level_1": level_1,
    }


def as_json(value: dict) -> list[str]:
    return [json.dumps(value, indent=1, ensure_ascii=False), "\n"]


def release_create(*, actor: AbstractBaseUser | None, name: str, note: str = "") -> Release:
    """Freeze what the public sees now (verified pledges, withdrawn ones with their status)
    into release `name`, comparing it with the latest release. Refuses a name in use, or one
    that is not a valid name, as a ValidationError on `name`."""
    root = settings.LEDGER_RELEASE_DIR
    root.mkdir(parents=True, exist_ok=True)
    with one_at_a_time(root):
        release = Release(name=name, note=note, created_by=actor, created_at=timezone.now())
        release.previous = Release.objects.order_by("-created_at", "-id").first()
        release.full_clean(exclude=["files", "pledges", "lines"])
        if (root / name).exists():
            raise ValidationError({"name": f"A folder {root / name} is in the way; move it."})
        partial = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
        try:
            partial.chmod(0o755)  # mkdtemp's folder is its owner's only; a release is public
            write_files(release, partial)
            os.rename(partial, root / name)
            sync_folder(root)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        try:
            release.save()
        except BaseException:
            shutil.rmtree(root / name)
            raise
    return release


def write_files(release: Release, folder: Path) -> None:
    """Write the three files into `folder` and fill in the release's counts and files."""
    with one_snapshot():
        level_1 = categories_level_1()
        public = visible_lines(AnonymousUser())
        lines = write_once(folder / LINES, export_csv(public))
    current = Reading(folder / LINES, level_1)
    previous = previous_reading(release.previous) if release.previous else None
    changes = compare(previous, current)
    head = {"release": release.name, "previous": getattr(release.previous, "name", None)}
    changes_file = write_once(folder / CHANGES, as_json(head | changes))
    release.pledges, release.lines = current.pledge_count, current.line_count
    package = write_once(
        folder / PACKAGE, as_json(package_of(release, level_1, [lines, changes_file]))
    )
    sync_folder(folder)
    release.files = [lines, package, changes_file]
