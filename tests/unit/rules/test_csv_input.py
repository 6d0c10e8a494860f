"""music_etl/rules/csv_input.py: the CSV dialect of SPEC section 2, bad files of section 3."""

import gzip

import pytest

from music_etl.rules.csv_input import EmptyFile, FileRejected, check_size, read_csv_text

REQUIRED = ["user_id", "track_id", "listen_time"]
HEADER = b"user_id,track_id,listen_time\n"


def rows(data: bytes, key: str = "streams/a.csv", required=REQUIRED) -> list[dict]:
    return read_csv_text(data, key, required).to_pylist()


# --- dialect -------------------------------------------------------------------------------------


def test_plain_file_reads_every_column_as_text():
    assert rows(HEADER + b"7,t1,2026-11-27 10:00:00\n") == [
        {"user_id": "7", "track_id": "t1", "listen_time": "2026-11-27 10:00:00"}
    ]


def test_utf8_bom_is_not_part_of_the_first_column_name():
    data = b"\xef\xbb\xbfuser_id,track_id,listen_time\n7,t1,x\n"
    assert rows(data) == [{"user_id": "7", "track_id": "t1", "listen_time": "x"}]


def test_crlf_line_ends_leave_no_carriage_return_in_values():
    data = b"user_id,track_id,listen_time\r\n7,t1,x\r\n8,t2,y\r\n"
    assert rows(data) == [
        {"user_id": "7", "track_id": "t1", "listen_time": "x"},
        {"user_id": "8", "track_id": "t2", "listen_time": "y"},
    ]


def test_quoted_field_keeps_commas_and_doubled_quotes():
    data = HEADER + b'7,"Earth, Wind & Fire ""live""",x\n'
    assert rows(data)[0]["track_id"] == 'Earth, Wind & Fire "live"'


def test_quoted_field_keeps_an_embedded_newline():
    data = HEADER + b'7,"line one\nline two",x\n8,t2,y\n'
    assert rows(data) == [
        {"user_id": "7", "track_id": "line one\nline two", "listen_time": "x"},
        {"user_id": "8", "track_id": "t2", "listen_time": "y"},
    ]


def test_non_ascii_utf8_values_are_kept():
    data = HEADER + "7,宇多田ヒカル – Beyoncé,x\n".encode()
    assert rows(data)[0]["track_id"] == "宇多田ヒカル – Beyoncé"


# --- gzip ----------------------------------------------------------------------------------------


def test_gzip_file_is_decompressed():
    data = gzip.compress(HEADER + b"7,t1,x\n")
    assert rows(data, key="streams/2026/a.csv.gz") == [
        {"user_id": "7", "track_id": "t1", "listen_time": "x"}
    ]


def test_gzip_file_with_upper_case_suffix_is_decompressed():
    data = gzip.compress(HEADER + b"7,t1,x\n")
    assert rows(data, key="streams/2026/A.CSV.GZ") == [
        {"user_id": "7", "track_id": "t1", "listen_time": "x"}
    ]


def test_corrupt_gzip_is_rejected():
    with pytest.raises(FileRejected, match="gzip"):
        read_csv_text(b"\x1f\x8b\x08\x00not really gzip", "streams/a.csv.gz", REQUIRED)


def test_truncated_gzip_is_rejected():
    data = gzip.compress(HEADER + b"7,t1,x\n")[:-8]
    with pytest.raises(FileRejected, match="gzip"):
        read_csv_text(data, "streams/a.csv.gz", REQUIRED)


def test_gzip_of_nothing_is_empty():
    with pytest.raises(EmptyFile):
        read_csv_text(gzip.compress(b""), "streams/a.csv.gz", REQUIRED)


# --- empty files ---------------------------------------------------------------------------------


def test_zero_byte_file_is_empty():
    with pytest.raises(EmptyFile):
        read_csv_text(b"", "streams/a.csv", REQUIRED)


def test_header_only_file_is_empty():
    with pytest.raises(EmptyFile):
        read_csv_text(HEADER, "streams/a.csv", REQUIRED)


def test_header_followed_by_blank_lines_is_empty():
    with pytest.raises(EmptyFile):
        read_csv_text(b"user_id,track_id,listen_time\r\n\r\n\r\n", "streams/a.csv", REQUIRED)


def test_header_only_gzip_file_is_empty():
    with pytest.raises(EmptyFile):
        read_csv_text(gzip.compress(HEADER), "streams/a.csv.gz", REQUIRED)


def test_header_only_file_without_final_newline_is_empty():
    with pytest.raises(EmptyFile):
        read_csv_text(b"user_id,track_id,listen_time", "streams/a.csv", REQUIRED)


def test_file_with_only_a_bom_is_empty():
    with pytest.raises(EmptyFile):
        read_csv_text(b"\xef\xbb\xbf", "streams/a.csv", REQUIRED)


# --- header handling -----------------------------------------------------------------------------


def test_extra_columns_are_kept():
    table = read_csv_text(
        b"user_id,track_id,listen_time,device\n7,t1,x,phone\n", "streams/a.csv", REQUIRED
    )
    assert table.column_names == ["user_id", "track_id", "listen_time", "device"]
    assert table.column("device").to_pylist() == ["phone"]


def test_columns_in_another_order_are_read_by_name():
    data = b"listen_time,track_id,user_id\n2026-11-27 10:00:00,t1,7\n"
    assert rows(data) == [{"listen_time": "2026-11-27 10:00:00", "track_id": "t1", "user_id": "7"}]


def test_header_names_are_trimmed_and_lower_cased():
    table = read_csv_text(b" User_ID ,TRACK_ID, Listen_Time\n7,t1,x\n", "streams/a.csv", REQUIRED)
    assert table.column_names == ["user_id", "track_id", "listen_time"]


def test_missing_required_column_is_rejected_and_named():
    with pytest.raises(FileRejected, match="track_id") as caught:
        read_csv_text(b"user_id,listen_time\n7,x\n", "streams/a.csv", REQUIRED)
    assert "user_id" not in str(caught.value).split(":", 1)[1]


def test_duplicate_header_names_are_rejected():
    with pytest.raises(FileRejected, match="duplicate"):
        read_csv_text(b"user_id,track_id,listen_time,user_id\n7,t1,x,8\n", "streams/a.csv", REQUIRED)


def test_header_names_equal_after_normalising_count_as_duplicates():
    with pytest.raises(FileRejected, match="duplicate"):
        read_csv_text(b"user_id,track_id,listen_time, USER_ID\n7,t1,x,8\n", "streams/a.csv", REQUIRED)


# --- bad content ---------------------------------------------------------------------------------


def test_invalid_utf8_in_a_data_row_is_rejected_as_utf8():
    with pytest.raises(FileRejected, match="UTF-8"):
        read_csv_text(HEADER + b"7,caf\xe9,x\n", "streams/a.csv", REQUIRED)


def test_invalid_utf8_in_the_header_is_rejected_as_utf8():
    with pytest.raises(FileRejected, match="UTF-8"):
        read_csv_text(b"user_id,track_id,listen_time,caf\xe9\n7,t1,x,y\n", "streams/a.csv", REQUIRED)


def test_row_with_too_few_fields_is_rejected():
    with pytest.raises(FileRejected):
        read_csv_text(HEADER + b"7,t1,x\n8,t2\n", "streams/a.csv", REQUIRED)


def test_row_with_too_many_fields_is_rejected():
    with pytest.raises(FileRejected):
        read_csv_text(HEADER + b"7,t1,x,surplus\n", "streams/a.csv", REQUIRED)


def test_unbalanced_quote_in_a_middle_field_is_rejected():
    with pytest.raises(FileRejected):
        read_csv_text(HEADER + b'7,"t1,x\n8,t2,y\n', "streams/a.csv", REQUIRED)


def test_unbalanced_quote_in_the_last_field_is_rejected():
    with pytest.raises(FileRejected):
        read_csv_text(HEADER + b'7,t1,"2026-11-27 10:00:00\n8,t2,2026-11-27 11:00:00\n', "streams/a.csv", REQUIRED)


# --- values --------------------------------------------------------------------------------------


def test_empty_fields_become_none():
    assert rows(HEADER + b',t1,\n') == [{"user_id": None, "track_id": "t1", "listen_time": None}]


def test_quoted_empty_fields_become_none():
    assert rows(HEADER + b'"",t1,""\n') == [{"user_id": None, "track_id": "t1", "listen_time": None}]


def test_whitespace_values_are_kept_raw():
    assert rows(HEADER + b" 7 ,t1,x\n")[0]["user_id"] == " 7 "


def test_numeric_looking_values_stay_text():
    table = read_csv_text(HEADER + b"007,1e3,x\n", "streams/a.csv", REQUIRED)
    assert table.to_pylist() == [{"user_id": "007", "track_id": "1e3", "listen_time": "x"}]
    assert {str(field.type) for field in table.schema} == {"string"}


def test_concatenated_gzip_members_are_all_read():
    data = gzip.compress(b"user_id,track_id,listen_time\n1,a,x\n") + gzip.compress(b"2,b,y\n")
    table = read_csv_text(data, "streams/a.csv.gz", REQUIRED)
    assert table.column("user_id").to_pylist() == ["1", "2"]


def test_gzip_bomb_is_refused_without_inflating_it():
    bomb = gzip.compress(b"user_id,track_id,listen_time\n" + b"0" * (200 * 1024 * 1024))
    with pytest.raises(FileRejected, match="expands beyond 10485760 bytes"):
        read_csv_text(bomb, "streams/bomb.csv.gz", REQUIRED, limit=10 * 1024 * 1024)


def test_a_file_larger_than_the_cap_is_refused_by_its_size():
    check_size(1000, limit=1000)
    with pytest.raises(FileRejected, match="larger than 1000 bytes"):
        check_size(1001, limit=1000)
