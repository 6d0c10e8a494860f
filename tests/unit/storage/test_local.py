"""The local object store (music_etl/storage/local.py): listing, digests, writes, links, and the
landing entries left out (music_etl/extract.py's readable_files)."""

import os

import pytest

from music_etl.extract import readable_files
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
