"""What counts as new input (SPEC 2, 5): music_etl/extract.py and the snapshot fingerprint of
music_etl/models.py."""


import pytest

from music_etl.extract import catalogue_snapshot, is_csv_file, select_new_files
from music_etl.models import CatalogueSnapshot, SourceFile
from tests.unit.storage.test_local import info, keys

# --- is_csv_file ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "streams/a.csv",
        "streams/a.csv.gz",
        "streams/2026/11/28/10.csv",
        "streams/2026/11/28/10.csv.gz",
        "streams/A.CSV",
        "streams/deep/er/A.Csv.Gz",
    ],
)
def test_csv_and_csv_gz_at_any_depth_and_any_case_are_stream_files(key):
    assert is_csv_file(key)


@pytest.mark.parametrize(
    "key",
    [
        "streams/a.txt",
        "streams/a.json",
        "streams/a.gz",
        "streams/a.tsv",
        "streams/a.csv.bak",
        "streams/a.csv.zip",
        "streams/a.csv.gz.part",
        "streams/acsv",
        "streams/2026/",
        "streams/_SUCCESS",
    ],
)
def test_other_files_are_not_stream_files(key):
    assert not is_csv_file(key)


# --- select_new_files ----------------------------------------------------------------------------


def test_every_version_is_new_with_an_empty_ledger():
    listing = [info("streams/a.csv"), info("streams/b.csv.gz")]
    assert select_new_files(listing, set(), None) == (listing, 0)


def test_version_in_the_ledger_is_skipped():
    listing = [info("streams/a.csv", "e1"), info("streams/b.csv", "e2")]
    fresh, skipped = select_new_files(listing, {("streams/a.csv", "e1")}, None)
    assert keys(fresh) == ["streams/b.csv"]
    assert skipped == 1


def test_same_key_with_a_new_etag_is_new():
    listing = [info("streams/a.csv", "e2")]
    fresh, skipped = select_new_files(listing, {("streams/a.csv", "e1")}, None)
    assert fresh == [info("streams/a.csv", "e2")]
    assert skipped == 0


def test_ledger_entry_for_another_key_with_the_same_etag_does_not_skip():
    listing = [info("streams/b.csv", "e1")]
    fresh, _ = select_new_files(listing, {("streams/a.csv", "e1")}, None)
    assert keys(fresh) == ["streams/b.csv"]


def test_non_stream_files_are_neither_new_nor_skipped():
    listing = [info("streams/notes.txt"), info("streams/a.csv"), info("streams/a.json")]
    fresh, skipped = select_new_files(listing, {("streams/notes.txt", "e1")}, None)
    assert keys(fresh) == ["streams/a.csv"]
    assert skipped == 0


def test_new_files_come_oldest_key_first():
    listing = [
        info("streams/2026/11/28/10.csv"),
        info("streams/2026/11/27/23.csv"),
        info("streams/2026/11/28/09.csv.gz"),
    ]
    fresh, _ = select_new_files(listing, set(), None)
    assert keys(fresh) == [
        "streams/2026/11/27/23.csv",
        "streams/2026/11/28/09.csv.gz",
        "streams/2026/11/28/10.csv",
    ]


def test_max_files_takes_the_oldest_new_keys():
    listing = [
        info("streams/2026/11/28/10.csv"),
        info("streams/2026/11/27/23.csv"),
        info("streams/2026/11/28/09.csv"),
        info("streams/2026/11/27/22.csv"),
    ]
    seen = {("streams/2026/11/27/22.csv", "e1")}
    fresh, skipped = select_new_files(listing, seen, 2)
    assert keys(fresh) == ["streams/2026/11/27/23.csv", "streams/2026/11/28/09.csv"]
    assert skipped == 1


def test_max_files_larger_than_new_files_takes_all():
    fresh, _ = select_new_files([info("streams/a.csv")], set(), 5)
    assert keys(fresh) == ["streams/a.csv"]


def test_skipped_counts_every_seen_version_whatever_max_files_is():
    listing = [info(f"streams/{name}.csv") for name in "abcde"]
    seen = {("streams/a.csv", "e1"), ("streams/c.csv", "e1"), ("streams/e.csv", "e1")}
    fresh, skipped = select_new_files(listing, seen, 1)
    assert keys(fresh) == ["streams/b.csv"]
    assert skipped == 3


def test_nothing_new_when_everything_is_in_the_ledger():
    listing = [info("streams/a.csv", "e1"), info("streams/b.csv", "e9")]
    seen = {("streams/a.csv", "e1"), ("streams/b.csv", "e9")}
    assert select_new_files(listing, seen, None) == ([], 2)


# --- catalogue_snapshot / fingerprint ------------------------------------------------------------


def test_catalogue_snapshot_takes_csv_files_in_key_order():
    listing = [
        info("songs/part-2.csv", "e2", 20),
        info("songs/README.md", "e3", 5),
        info("songs/2026/part-1.CSV.gz", "e1", 10),
    ]
    snapshot = catalogue_snapshot("songs", listing)
    assert snapshot == CatalogueSnapshot(
        dataset="songs",
        files=(
            SourceFile(key="songs/2026/part-1.CSV.gz", etag="e1", size=10, dataset="songs"),
            SourceFile(key="songs/part-2.csv", etag="e2", size=20, dataset="songs"),
        ),
    )


def test_catalogue_snapshot_of_no_csv_files_is_empty():
    assert catalogue_snapshot("users", [info("users/notes.txt")]).files == ()


def snapshot(*versions: tuple[str, str]) -> CatalogueSnapshot:
    return CatalogueSnapshot(
        dataset="songs",
        files=tuple(SourceFile(key=key, etag=etag, size=1, dataset="songs") for key, etag in versions),
    )


def test_fingerprint_does_not_depend_on_file_order():
    forward = snapshot(("songs/a.csv", "e1"), ("songs/b.csv", "e2"), ("songs/c.csv", "e3"))
    shuffled = snapshot(("songs/c.csv", "e3"), ("songs/a.csv", "e1"), ("songs/b.csv", "e2"))
    assert forward.fingerprint == shuffled.fingerprint


def test_fingerprint_changes_when_an_etag_changes():
    before = snapshot(("songs/a.csv", "e1"), ("songs/b.csv", "e2"))
    after = snapshot(("songs/a.csv", "e1"), ("songs/b.csv", "e2-changed"))
    assert before.fingerprint != after.fingerprint


def test_fingerprint_changes_when_a_file_is_added_or_removed():
    one = snapshot(("songs/a.csv", "e1"))
    two = snapshot(("songs/a.csv", "e1"), ("songs/b.csv", "e2"))
    assert one.fingerprint != two.fingerprint


def test_fingerprint_changes_when_a_file_is_renamed():
    assert snapshot(("songs/a.csv", "e1")).fingerprint != snapshot(("songs/b.csv", "e1")).fingerprint


def test_fingerprint_is_stable_and_path_safe():
    fingerprint = snapshot(("songs/a.csv", "e1")).fingerprint
    assert fingerprint == snapshot(("songs/a.csv", "e1")).fingerprint
    assert len(fingerprint) == 32
    assert set(fingerprint) <= set("0123456789abcdef")
