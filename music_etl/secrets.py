"""Warehouse URLs that carry a password travel through a run without showing it.

A `postgresql://user:password@host/db` URL (from --warehouse or $MUSIC_ETL_WAREHOUSE) is wrapped
in `SecretUrl` inside the settings: subflow parameters stored by the Prefect API, logs and reprs
show it masked; only `reveal` (at connect time) gives the real URL back.
"""

from __future__ import annotations

from pydantic import SecretStr


class SecretUrl(SecretStr):
    """A URL with a password: printed with the password masked, serialised as `**********`."""

    def _display(self) -> str:
        return redact(self.get_secret_value())


def redact(url: str) -> str:
    """The URL with its password masked (`***`); anything that is not a URL as is."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - block:NAME, a folder: nothing to hide
        return url


def has_password(url: str) -> bool:
    from sqlalchemy.engine import make_url

    try:
        return bool(make_url(url).password)
    except Exception:  # noqa: BLE001
        return False


def hide_password(url: str | SecretStr) -> str | SecretStr:
    """Wrap a URL that carries a password; leave every other location readable."""
    if isinstance(url, str) and has_password(url):
        return SecretUrl(url)
    return url


def reveal(url: str | SecretStr) -> str:
    return url.get_secret_value() if isinstance(url, SecretStr) else url
