"""How `prefect deploy` builds the flow-run image: a step of prefect.yaml's build section.

Prefect's `{{ $VAR }}` templating turns an unset variable into "", which would override the
Dockerfile's default base image; this step gives every setting its user default instead, and
typed values (a bool for `pull`) that the build step takes as they are.

    MUSIC_ETL_ECR_REPOSITORY  where the image goes (required), e.g. 1234.dkr.ecr.eu-west-1.amazonaws.com/music-etl
    MUSIC_ETL_BASE_IMAGE      FROM image (default python:3.11-slim)
    MUSIC_ETL_BUILD_NETWORK   network of the build's RUN steps (default: Docker's default; "host"
                              on a machine without a bridge network)
    MUSIC_ETL_BUILD_PULL      pull the base image first (default true; false for a base that only
                              exists in the local engine)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

DEFAULT_BASE_IMAGE = "python:3.11-slim"


class ImageSettingsError(ValueError):
    pass


def _git(root: Path, *args: str) -> bytes:
    return subprocess.run(
        ["git", *args], cwd=root, capture_output=True, check=True
    ).stdout


def image_tag(root: Path) -> str:
    """The commit's short SHA; built from uncommitted changes, `<sha>-dirty-<hash of them>`, so
    two different trees never share a tag."""
    sha = _git(root, "rev-parse", "--short=12", "HEAD").decode().strip()
    changes = _git(root, "diff", "HEAD", "--binary")
    untracked = _git(root, "ls-files", "--others", "--exclude-standard", "-z").split(b"\0")
    digest = hashlib.sha256(changes)
    for name in filter(None, untracked):
        path = root / name.decode()
        digest.update(name + b"\0" + (path.read_bytes() if path.is_file() else b""))
    if not changes and not any(untracked):
        return sha
    return f"{sha}-dirty-{digest.hexdigest()[:12]}"


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImageSettingsError(f"{name} must be true or false, not {value!r}")


def image_settings(root: str = ".") -> dict:
    env = os.environ
    repository = env.get("MUSIC_ETL_ECR_REPOSITORY", "").strip()
    if not repository:
        raise ImageSettingsError(
            "set MUSIC_ETL_ECR_REPOSITORY to the image repository, "
            "e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/music-etl"
        )
    return {
        "image_name": repository,
        "tag": image_tag(Path(root).resolve()),
        "buildargs": {"BASE_IMAGE": env.get("MUSIC_ETL_BASE_IMAGE") or DEFAULT_BASE_IMAGE},
        "network_mode": env.get("MUSIC_ETL_BUILD_NETWORK") or "default",
        "pull": _flag(env.get("MUSIC_ETL_BUILD_PULL") or "true", "MUSIC_ETL_BUILD_PULL"),
    }
