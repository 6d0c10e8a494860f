"""Test-wide settings: quiet, offline Prefect with its own home, set before Prefect is imported."""

import os
import tempfile

_prefect_home = tempfile.mkdtemp(prefix="music-etl-tests-prefect-")
os.environ["PREFECT_HOME"] = _prefect_home
# LocalStore remembers file digests (tasks/storage.py); tests keep theirs out of ~/.cache.
os.environ["MUSIC_ETL_DIGEST_CACHE"] = os.path.join(_prefect_home, "md5.sqlite")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
# Task retry backoff (tasks/policies.py, read at import): near zero, so retried faults stay fast.
os.environ.setdefault("MUSIC_ETL_RETRY_DELAYS", "0.05")
os.environ.pop("PREFECT_API_URL", None)
os.environ.pop("PREFECT_PROFILES_PATH", None)
for name in ("MUSIC_ETL_LANDING", "MUSIC_ETL_LAKE", "MUSIC_ETL_WAREHOUSE"):
    os.environ.pop(name, None)


import pytest  # noqa: E402 - after the environment above is set


@pytest.fixture(autouse=True)
def _settings_from_the_environment():
    """Each test starts from the environment's settings; one that configures its own (as the
    CLI does) keeps them for itself."""
    from music_etl.settings import configure

    configure(None)
    yield
    configure(None)
