"""Unit tests of what counts as new input (SPEC 2, 5): tasks/extract.py, the snapshot fingerprint of
tasks/models.py and the local object store of tasks/storage.py."""

import os

import pytest

from music_etl.extract import catalogue_snapshot, is_csv_file, readable_files, select_new_files
from music_etl.models import CatalogueSnapshot, SourceFile
from music_etl.storage import (
    HIDDEN,
    NOT_REGULAR,
    SYMLINK,
    Listing,
    ObjectInfo,
    SkippedEntry,
    StorageError,
)
from music_etl.storage.local import LocalStore

# Well-known MD5 digests.
MD5_EMPTY = "d41d8cd98f00b204e9800998ecf8427e"
MD5_ABC = "900150983cd24fb0d6963f7d28e17f72"
MD5_HELLO = "5d41402abc4b2a76b9719d911017c592"


def info(key: str, etag: str = "e1", size: int = 10) -> ObjectInfo:
    return ObjectInfo(key=key, etag=etag, size=size)


def keys(infos) -> list[str]:
    return [item.key for item in infos]


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


# --- LocalStore ----------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path):
    path = tmp_path / "store"
    path.mkdir()
    return path


def put(root, key: str, data: bytes) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_list_is_recursive_with_md5_etags_and_sizes(root):
    put(root, "streams/2026/11/28/10.csv", b"abc")
    put(root, "streams/top.csv", b"")
    put(root, "songs/s.csv", b"hello")
    assert LocalStore(root).list("streams") == [
        ObjectInfo(key="streams/2026/11/28/10.csv", etag=MD5_ABC, size=3),
        ObjectInfo(key="streams/top.csv", etag=MD5_EMPTY, size=0),
    ]


def test_list_of_the_whole_store_uses_keys_relative_to_the_root(root):
    put(root, "songs/s.csv", b"hello")
    put(root, "a.csv", b"abc")
    assert LocalStore(root).list("") == [
        ObjectInfo(key="a.csv", etag=MD5_ABC, size=3),
        ObjectInfo(key="songs/s.csv", etag=MD5_HELLO, size=5),
    ]


def test_list_is_sorted_by_key(root):
    for key in ["streams/c.csv", "streams/a.csv", "streams/b/z.csv", "streams/b/a.csv"]:
        put(root, key, b"abc")
    assert keys(LocalStore(root).list("streams")) == [
        "streams/a.csv",
        "streams/b/a.csv",
        "streams/b/z.csv",
        "streams/c.csv",
    ]


def test_list_sorts_by_key_string_like_s3(root):
    put(root, "streams/a/b.csv", b"abc")
    put(root, "streams/a-b.csv", b"abc")
    assert keys(LocalStore(root).list("streams")) == ["streams/a-b.csv", "streams/a/b.csv"]


def test_list_skips_directories(root):
    (root / "streams/empty/dir").mkdir(parents=True)
    put(root, "streams/a.csv", b"abc")
    assert keys(LocalStore(root).list("streams")) == ["streams/a.csv"]


def test_list_of_a_missing_prefix_is_empty(root):
    assert LocalStore(root).list("streams") == []


def test_etag_changes_when_content_changes(root):
    store = LocalStore(root)
    store.write_bytes("streams/a.csv", b"abc")
    store.write_bytes("streams/a.csv", b"hello")
    assert store.list("streams") == [ObjectInfo(key="streams/a.csv", etag=MD5_HELLO, size=5)]


def _count_hashing(monkeypatch) -> list[str]:
    from music_etl.storage import local as storage

    hashed: list[str] = []
    real = storage._md5_of

    def counting(path):
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(storage, "_md5_of", counting)
    return hashed


def test_a_second_listing_reuses_digests_and_rehashes_only_changed_files(root, tmp_path, monkeypatch):
    hashed = _count_hashing(monkeypatch)
    store = LocalStore(root, digest_cache=tmp_path / "cache" / "md5.sqlite")
    store.write_bytes("streams/a.csv", b"abc")
    store.write_bytes("streams/b.csv", b"abc")
    store.list("streams")
    assert sorted(hashed) == ["a.csv", "b.csv"]

    hashed.clear()
    store.write_bytes("streams/b.csv", b"xyz")  # same size, new content
    assert store.list("streams") == [
        ObjectInfo(key="streams/a.csv", etag=MD5_ABC, size=3),
        ObjectInfo(key="streams/b.csv", etag="d16fb36f0911f878998c136191af705e", size=3),
    ]
    assert hashed == ["b.csv"]


def test_a_file_rewritten_in_place_is_rehashed(root, tmp_path):
    cache = tmp_path / "md5.sqlite"
    put(root, "streams/a.csv", b"abc")
    LocalStore(root, digest_cache=cache).list("streams")
    with (root / "streams/a.csv").open("r+b") as handle:  # same inode and size
        handle.write(b"hel")
    os.utime(root / "streams/a.csv", ns=(1, 1))  # even with an old modification time
    assert LocalStore(root, digest_cache=cache).list("streams")[0].etag == "46356afe55fa3cea9cbe73ad442cad47"  # hel


def test_listing_works_without_a_usable_digest_cache(root, tmp_path):
    (tmp_path / "not-a-folder").write_text("x")
    unusable = tmp_path / "not-a-folder" / "md5.sqlite"
    put(root, "streams/a.csv", b"abc")
    assert LocalStore(root, digest_cache=unusable).list("streams") == [
        ObjectInfo(key="streams/a.csv", etag=MD5_ABC, size=3)
    ]


def test_write_bytes_creates_folders_and_round_trips(root):
    store = LocalStore(root)
    store.write_bytes("lake/raw/x/y.csv", b"abc")
    assert (root / "lake/raw/x/y.csv").read_bytes() == b"abc"
    assert store.read_bytes("lake/raw/x/y.csv") == b"abc"


def test_write_bytes_leaves_no_temporary_files(root):
    store = LocalStore(root)
    store.write_bytes("lake/a.parquet", b"first")
    store.write_bytes("lake/a.parquet", b"second")
    assert sorted(os.listdir(root / "lake")) == ["a.parquet"]
    assert (root / "lake/a.parquet").read_bytes() == b"second"


def test_copy_from_another_store_copies_bytes(tmp_path, root):
    landing = tmp_path / "landing"
    put(landing, "streams/a.csv", b"abc")
    LocalStore(root).copy_from(LocalStore(landing), "streams/a.csv", "raw/streams/a.csv")
    assert (root / "raw/streams/a.csv").read_bytes() == b"abc"
    assert sorted(os.listdir(root / "raw/streams")) == ["a.csv"]


def test_exists_is_true_only_for_objects(root):
    put(root, "streams/a.csv", b"abc")
    store = LocalStore(root)
    assert store.exists("streams/a.csv")
    assert not store.exists("streams")
    assert not store.exists("streams/b.csv")


@pytest.mark.parametrize("key", ["../outside.csv", "/etc/passwd", "streams/../../outside.csv"])
def test_keys_escaping_the_root_are_rejected(root, key):
    store = LocalStore(root)
    with pytest.raises(StorageError):
        store.write_bytes(key, b"abc")
    with pytest.raises(StorageError):
        store.read_bytes(key)
    with pytest.raises(StorageError):
        store.exists(key)
    with pytest.raises(StorageError):
        store.list(key)
    assert not (root.parent / "outside.csv").exists()


def test_symlink_escaping_the_root_is_rejected(tmp_path, root):
    outside = tmp_path / "outside"
    put(outside, "secret.csv", b"abc")
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(StorageError):
        LocalStore(root).read_bytes("link/secret.csv")


def test_dot_dot_inside_the_root_is_allowed(root):
    store = LocalStore(root)
    store.write_bytes("a/../b.csv", b"abc")
    assert (root / "b.csv").read_bytes() == b"abc"


def test_missing_folder_raises_storage_error(tmp_path):
    with pytest.raises(StorageError, match="does not exist"):
        LocalStore(tmp_path / "nope")


def test_missing_folder_is_created_when_asked(tmp_path):
    LocalStore(tmp_path / "new" / "lake", create=True)
    assert (tmp_path / "new" / "lake").is_dir()


def test_reading_a_missing_key_raises_storage_error(root):
    with pytest.raises(StorageError):
        LocalStore(root).read_bytes("streams/missing.csv")


def test_scan_never_follows_links_nor_reads_hidden_entries_or_pipes(tmp_path, root):
    outside = tmp_path / "outside"
    put(outside, "secret.csv", b"abc")
    put(root, "streams/a.csv", b"abc")
    put(root, "streams/.partial.csv", b"abc")
    put(root, "streams/.git/config.csv", b"abc")
    (root / "streams/link.csv").symlink_to(outside / "secret.csv")
    (root / "streams/inside_link.csv").symlink_to(root / "streams/a.csv")
    (root / "streams/folder").symlink_to(outside, target_is_directory=True)
    os.mkfifo(root / "streams/pipe.csv")

    listing = LocalStore(root).scan("streams")

    assert keys(listing.objects) == ["streams/a.csv"]
    assert listing.skipped == [
        SkippedEntry("streams/.git", HIDDEN),
        SkippedEntry("streams/.partial.csv", HIDDEN),
        SkippedEntry("streams/folder", SYMLINK),
        SkippedEntry("streams/inside_link.csv", SYMLINK),
        SkippedEntry("streams/link.csv", SYMLINK),
        SkippedEntry("streams/pipe.csv", NOT_REGULAR),
    ]


def test_scan_of_a_prefix_that_is_a_link_reads_nothing(tmp_path, root):
    put(tmp_path / "outside", "a.csv", b"abc")
    (root / "streams").symlink_to(tmp_path / "outside", target_is_directory=True)
    assert LocalStore(root).scan("streams") == Listing([], [SkippedEntry("streams", SYMLINK)])


def test_readable_files_report_what_is_left_out():
    long_key = "streams/" + "x" * 1100 + ".csv"
    listing = Listing(
        [info("streams/a.csv"), info("streams/notes.txt"), info(long_key)],
        [SkippedEntry("streams/.b.csv", HIDDEN)],
    )
    files, skipped = readable_files(listing)
    assert keys(files) == ["streams/a.csv"]
    assert [(entry.key[:12], entry.reason) for entry in skipped] == [
        ("streams/.b.c", HIDDEN),
        ("streams/note", "not a .csv or .csv.gz file"),
        ("streams/xxxx", "key longer than 1024 bytes"),
    ]
