"""The software's version, as a release records it: `git describe` of the checkout the server
runs from when git can say it, else the version in pyproject.toml (an installed copy without its
.git folder)."""

import functools
import subprocess
import tomllib

from django.conf import settings


@functools.cache
def software_version() -> dict[str, str]:
    """{"version": ..., "from": "git describe" or "pyproject.toml"}, read once per process."""
    try:
        described = subprocess.run(
            ["git", "describe", "--tags", "--always", "--dirty"],
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    if described:
        return {"version": described, "from": "git describe"}
    with open(settings.BASE_DIR / "pyproject.toml", "rb") as handle:
        return {"version": tomllib.load(handle)["project"]["version"], "from": "pyproject.toml"}
