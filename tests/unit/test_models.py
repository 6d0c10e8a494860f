"""Reasons and names taken from file contents stay storable in every warehouse and in Prefect."""

from __future__ import annotations

from music_etl.models import LoadedFile, SourceFile, ValidatedFile, printable

SOURCE = SourceFile(key="streams/a.csv", etag="e", size=1, dataset="streams")


def test_printable_escapes_control_characters_and_keeps_unicode():
    assert printable("got 1: \x00\x00\nnext\tcol é 宇") == "got 1: \\x00\\x00\\x0anext\\x09col é 宇"


def test_printable_limits_the_length_to_fit_the_ledger():
    text = printable("é" * 5000)
    assert len(text) == 1000 and text.endswith("…")
    assert len(text.encode()) <= 4096  # the ledger's VARCHAR(4096), counted in bytes on Redshift


def test_printable_of_none_is_none():
    assert printable(None) is None


def test_reasons_and_extra_columns_are_made_printable_on_the_way_in():
    validated = ValidatedFile(SOURCE, "rejected", reason="bad \x00 row", extra_columns=("c\x00",))
    assert validated.reason == "bad \\x00 row" and validated.extra_columns == ("c\\x00",)
    loaded = LoadedFile(SOURCE, "rejected", 1, 0, 0, 0, reason="\udcff")
    assert loaded.reason == "\\xdcff"
