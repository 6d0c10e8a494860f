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


def _registry_host(repository: str) -> str | None:
    first = repository.split("/", 1)[0]
    looks_like_host = "/" in repository and ("." in first or ":" in first or first == "localhost")
    return first if looks_like_host else None


def _registry_problem(host: str) -> str | None:
    import urllib.error
    import urllib.request

    local = host.split(":")[0] in ("127.0.0.1", "localhost")
    url = f"{'http' if local else 'https'}://{host}/v2/"
    try:
        urllib.request.urlopen(url, timeout=10).close()
    except urllib.error.HTTPError:
        return None  # it answered (ECR answers 401 until `docker login`): reachable
    except OSError as error:
        reason = getattr(error, "reason", error)
        return f"the registry {host} is not reachable ({reason}); check MUSIC_ETL_ECR_REPOSITORY and the network"
    return None


def _engine_problem(settings: dict) -> str | None:
    try:
        import docker
    except ImportError:
        return "prefect-docker is not installed: run `make setup` (it syncs the deploy group)"
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # any failure to reach the engine is the one thing to report
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return f"the Docker engine at {where} is not reachable ({type(error).__name__}); start it first"
    base = settings["buildargs"]["BASE_IMAGE"]
    if not settings["pull"]:
        try:
            client.images.get(base)
        except Exception:
            return f"MUSIC_ETL_BUILD_PULL=false but the base image {base} is not in the engine (deployments/local-base-image.sh builds it)"
    return None


def preflight_problems() -> list[str]:
    """What would stop `prefect deploy` from building and pushing, one line each."""
    try:
        settings = image_settings()
    except ImageSettingsError as error:
        return [str(error)]
    problems = [_engine_problem(settings)]
    host = _registry_host(settings["image_name"])
    if host:
        problems.append(_registry_problem(host))
    return [p for p in problems if p]


def checked_image_settings(root: str = ".") -> dict:
    """image_settings, refusing to start a build that cannot finish: one clear error line."""
    problems = preflight_problems()
    if problems:
        raise ImageSettingsError("; ".join(problems))
    return image_settings(root)
