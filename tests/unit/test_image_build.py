"""prefect.yaml's image settings step: user defaults when nothing is set, and a tag that never
lets two different trees share a name."""

from __future__ import annotations

import subprocess

import pytest

from music_etl.image_build import ImageSettingsError, image_settings, image_tag


def _git(repo, *args):
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path):
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "config", "user.email", "t@example.com")
    _git(tmp_path, "config", "user.name", "t")
    (tmp_path / "flow.py").write_text("print(1)\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-qm", "one")
    return tmp_path


def test_a_clean_tree_is_tagged_with_its_commit(repo):
    sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=repo,
                         capture_output=True, text=True).stdout.strip()  # fmt: skip
    assert image_tag(repo) == sha


def test_uncommitted_changes_get_a_dirty_marker_that_follows_the_content(repo):
    sha = image_tag(repo)
    (repo / "flow.py").write_text("print(2)\n")
    first = image_tag(repo)
    (repo / "flow.py").write_text("print(3)\n")
    second = image_tag(repo)
    (repo / "new.py").write_text("x = 1\n")
    third = image_tag(repo)
    assert first.startswith(f"{sha}-dirty-") and second.startswith(f"{sha}-dirty-")
    assert len({first, second, third}) == 3


def test_user_defaults_when_only_the_repository_is_set(repo, monkeypatch):
    for name in ("MUSIC_ETL_BASE_IMAGE", "MUSIC_ETL_BUILD_NETWORK", "MUSIC_ETL_BUILD_PULL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MUSIC_ETL_ECR_REPOSITORY", "1234.dkr.ecr.eu-west-1.amazonaws.com/music-etl")
    settings = image_settings(str(repo))
    assert settings["buildargs"] == {"BASE_IMAGE": "python:3.11-slim"}
    assert settings["network_mode"] == "default" and settings["pull"] is True
    assert settings["image_name"] == "1234.dkr.ecr.eu-west-1.amazonaws.com/music-etl"


def test_local_base_and_host_network_from_the_environment(repo, monkeypatch):
    monkeypatch.setenv("MUSIC_ETL_ECR_REPOSITORY", "127.0.0.1:5000/music-etl")
    monkeypatch.setenv("MUSIC_ETL_BASE_IMAGE", "local/debian-python:bookworm")
    monkeypatch.setenv("MUSIC_ETL_BUILD_NETWORK", "host")
    monkeypatch.setenv("MUSIC_ETL_BUILD_PULL", "false")
    settings = image_settings(str(repo))
    assert settings["buildargs"] == {"BASE_IMAGE": "local/debian-python:bookworm"}
    assert settings["network_mode"] == "host" and settings["pull"] is False


@pytest.mark.parametrize("name, value", [("MUSIC_ETL_ECR_REPOSITORY", ""), ("MUSIC_ETL_BUILD_PULL", "maybe")])
def test_a_missing_repository_or_a_bad_flag_is_one_clear_error(repo, monkeypatch, name, value):
    monkeypatch.setenv("MUSIC_ETL_ECR_REPOSITORY", "127.0.0.1:5000/music-etl")
    monkeypatch.setenv(name, value)
    with pytest.raises(ImageSettingsError, match=name):
        image_settings(str(repo))
