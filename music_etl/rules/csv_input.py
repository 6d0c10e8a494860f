"""Reading landing CSV files into Arrow tables of strings, with clear reasons for bad files.

Every column is read as text: typing and checks happen later, so that a bad value becomes a
quarantined row with its raw value kept, not a crashed parse.
"""

from __future__ import annotations

import csv
import io
import zlib

import pyarrow as pa
import pyarrow.csv as pacsv

from music_etl.models import SourceFile
from music_etl.storage import ObjectStore


_BOM = b"\xef\xbb\xbf"


class FileRejected(ValueError):
    """The whole file cannot be used; the message is the reason recorded in the ledger."""


class EmptyFile(ValueError):
    """The file has no data rows (0 bytes or a header only)."""


DEFAULT_MAX_FILE_BYTES = 256 << 20  # hourly files are about 6 MB; a gzip bomb is not


def check_size(size: int, limit: int = DEFAULT_MAX_FILE_BYTES) -> None:
    """Refuse a file by its listed size, before reading a byte of it."""
    if size > limit:
        raise FileRejected(f"file is larger than {limit} bytes (MUSIC_ETL_MAX_FILE_BYTES)")


def decompress(data: bytes, key: str, limit: int = DEFAULT_MAX_FILE_BYTES) -> bytes:
    """Gunzip `.gz` files, in chunks, refusing to inflate beyond `limit` bytes (each file is
    held in memory: the largest file bounds the run's memory)."""
    if not key.lower().endswith(".gz"):
        if len(data) > limit:
            raise FileRejected(f"file is larger than {limit} bytes (MUSIC_ETL_MAX_FILE_BYTES)")
        return data
    chunks, size, pending = [], 0, data
    try:
        while pending:  # one pass per gzip member: concatenated members are valid gzip
            inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
            while pending and not inflater.eof:
                chunk = inflater.decompress(pending, 1 << 24)
                size += len(chunk)
                if size > limit:
                    raise FileRejected(
                        f"gzip expands beyond {limit} bytes (MUSIC_ETL_MAX_FILE_BYTES): refused"
                    )
                chunks.append(chunk)
                pending = inflater.unconsumed_tail
            if not inflater.eof:
                raise FileRejected("cannot decompress gzip: truncated stream")
            pending = inflater.unused_data
    except zlib.error as exc:
        raise FileRejected(f"cannot decompress gzip: {exc}") from exc
    return b"".join(chunks)


def _header(data: bytes) -> list[str]:
    first_line = data.split(b"\n", 1)[0]
    try:
        text = first_line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileRejected(f"cannot decode header as UTF-8: {exc.reason} at byte {exc.start}") from exc
    names = next(csv.reader([text.rstrip("\r")]), [])
    return [name.strip().lower() for name in names]


def read_source(
    store: ObjectStore, source: SourceFile, required: list[str], limit: int
) -> pa.Table:
    """A landing file's raw copy in the lake, read as text; a file over `limit` bytes is
    refused by its listed size before it is read into memory."""
    check_size(source.size, limit)
    return read_csv_text(store.read_bytes(source.raw_key), source.key, required, limit)


def read_csv_text(
    data: bytes, key: str, required: list[str], limit: int = DEFAULT_MAX_FILE_BYTES
) -> pa.Table:
    """Parse CSV bytes (plain or gzip) into a table whose columns are all nullable strings.

    Header names are trimmed and lower-cased. Empty fields become nulls. Raises FileRejected for
    files that cannot be decoded or parsed or lack a required column, EmptyFile for no data rows.
    """
    data = decompress(data, key, limit)
    if not data.removeprefix(_BOM).strip():
        raise EmptyFile("file is empty")
    # RFC 4180 doubles quotes inside fields, so an odd count means a quote is never closed
    # (Arrow would otherwise read the rest of the file into one field).
    if data.count(b'"') % 2:
        raise FileRejected("cannot parse as CSV: unbalanced quote")
    names = _header(data)
    if len(set(names)) != len(names):
        raise FileRejected(f"duplicate column names in header: {names}")
    missing = [column for column in required if column not in names]
    if missing:
        raise FileRejected(f"missing required column(s): {', '.join(missing)}")
    if not data.split(b"\n", 1)[-1].strip() or b"\n" not in data:
        raise EmptyFile("header only, no data rows")
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        message = str(exc)
        if "UTF8" in message or "utf8" in message.lower():
            raise FileRejected(f"cannot decode as UTF-8: {message}") from exc
        raise FileRejected(f"cannot parse as CSV: {message}") from exc
    if table.num_rows == 0:
        raise EmptyFile("header only, no data rows")
    return table
