"""The pipeline with landing and lake on S3, spoken over HTTP to a moto server on 127.0.0.1."""

from __future__ import annotations

import os
import re
from html import unescape
from pathlib import Path
from urllib.request import urlopen

from tests.integration.helpers import (
    bucket_keys,
    cli,
    single_error_line,
    streams_csv,
    upload_landing,
)
from tests.integration.scenarios import DAY_2, EXPECTED_HOURLY, HOUR_10, HOUR_11


def test_pipeline_with_landing_and_lake_on_s3(s3, stores, s3_endpoint):
    stores.write("streams/2026/11/27/10.csv", streams_csv(HOUR_10))
    stores.write("streams/2026/11/27/11.csv.gz", streams_csv(HOUR_11), gzipped=True)
    stores.write("streams/2026/11/28/09.csv", streams_csv(DAY_2))
    stores.write("streams/broken.csv", "user_id,track_id\n1,A1\n")
    stores.write("streams/.staging/12.csv", streams_csv(HOUR_10))  # an uploader's hidden folder
    upload_landing(s3, stores, "incoming")
    s3.put_object(Bucket="landing-zone", Key="incoming/streams-old/x.csv", Body=b"not a stream file")

    run = dict(landing="s3://landing-zone/incoming", lake="s3://data-lake/lake")
    summary = stores.run(**run)

    assert summary.files_by_status == {"loaded": 3, "rejected": 1}
    assert summary.skipped_entries == (("streams/.staging/12.csv", "hidden (name starts with a dot)"),)
    assert stores.kpis()["hourly"] == EXPECTED_HOURLY
    lake = bucket_keys(s3, "data-lake")
    assert "lake/raw/streams/2026/11/27/10.csv@" in "\n".join(lake)
    assert any(k.startswith("lake/transformed/streams/2026/11/28/09.csv@") for k in lake)
    # Data Docs: uploaded with content types; the run links to its run page with a presigned
    # URL (a private bucket refuses anything else), and that page to its validations likewise.
    link, note = summary.data_docs.split(" ", 1)
    assert link.startswith(f"{s3_endpoint}/data-lake/lake/data_docs/runs/") and "X-Amz-Signature=" in link
    assert "X-Amz-Expires=604800" in link and "presigned, expires" in note
    assert "stays at s3://data-lake/lake/data_docs/runs/" in note
    run_page = urlopen(link, timeout=30).read().decode()
    pages = re.findall(r'href="([^"]+/validations/streams/[^"]+)"', run_page)
    assert len(pages) == 3 and all("X-Amz-Signature=" in unescape(p) for p in pages)
    assert "What happened to this file:" in urlopen(unescape(pages[0]), timeout=30).read().decode()
    head = s3.head_object(Bucket="data-lake", Key="lake/data_docs/index.html")
    assert head["ContentType"] == "text/html"
    index = s3.get_object(Bucket="data-lake", Key="lake/data_docs/index.html")["Body"].read()
    assert b"<html" in index.lower()
    pages = "\n".join(k for k in lake if k.startswith("lake/data_docs/validations/streams/"))
    for name in ("10.csv@", "11.csv.gz@", "09.csv@"):
        assert name in pages

    again = stores.run(**run)
    assert again.files_skipped == 4 and again.rows_loaded == 0


def test_s3bucket_blocks_for_landing_and_lake(s3, stores, s3_endpoint):
    from prefect_aws import AwsCredentials, S3Bucket
    from prefect_aws.client_parameters import AwsClientParameters

    credentials = AwsCredentials(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url=s3_endpoint),
    )
    credentials.save("test-aws", overwrite=True)
    S3Bucket(bucket_name="landing-zone", bucket_folder="in", credentials=credentials).save(
        "test-landing", overwrite=True
    )
    S3Bucket(bucket_name="data-lake", credentials=credentials).save("test-lake", overwrite=True)
    stores.write("streams/a.csv", streams_csv(HOUR_11))
    upload_landing(s3, stores, "in")

    summary = stores.run(landing="block:test-landing", lake="block:test-lake")

    assert summary.files_by_status == {"loaded": 1}
    assert any(k.startswith("raw/streams/a.csv@") for k in bucket_keys(s3, "data-lake"))


def test_missing_bucket_is_one_clear_line(s3, tmp_path):
    result = cli("run", "--landing", "s3://no-such-bucket/x", "--lake", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert single_error_line(result) == "music-etl: error: bucket 'no-such-bucket' does not exist"


def test_missing_credentials_is_one_clear_line(s3, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=os.environ["AWS_ENDPOINT_URL"],
        AWS_EC2_METADATA_DISABLED="true",
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_DEFAULT_REGION="us-east-1",
    )
    result = cli(
        "run", "--landing", "s3://landing-zone/x", "--lake", str(tmp_path), cwd=tmp_path, env=env
    )
    assert result.returncode == 2
    assert "credentials" in single_error_line(result).lower()


def test_retry_in_a_new_container_reuses_results_kept_in_s3(s3, stores, s3_endpoint, monkeypatch):
    """Result storage is an S3Bucket block: finished per-file work (results and cache records) is
    written only there, so a retry that runs in a new container, without the first attempt's
    disk, still finds it."""
    from prefect.settings import (
        PREFECT_LOCAL_STORAGE_PATH,
        PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK,
        temporary_settings,
    )
    from prefect_aws import AwsCredentials, S3Bucket
    from prefect_aws.client_parameters import AwsClientParameters

    from flows.pipeline import music_etl_pipeline
    from music_etl.quality.suites import SuiteRunner
    from tests.integration.helpers import fail_once_while_loading
    from tests.integration.scenarios import A, B, C

    s3.create_bucket(Bucket="prefect-results")
    credentials = AwsCredentials(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1",
        aws_client_parameters=AwsClientParameters(endpoint_url=s3_endpoint),
    )  # fmt: skip
    S3Bucket(bucket_name="prefect-results", credentials=credentials).save(
        "test-results", overwrite=True
    )
    for name, rows in (("a", A), ("b", B), ("c", C)):
        stores.write(f"streams/{name}.csv", streams_csv(rows))
    raised = fail_once_while_loading(monkeypatch, stores, "streams/b.csv")
    validations = []
    original_validate = SuiteRunner.validate

    def counting_validate(self, *args, **kwargs):
        validations.append(args)
        return original_validate(self, *args, **kwargs)

    monkeypatch.setattr(SuiteRunner, "validate", counting_validate)
    local_disk = Path(PREFECT_LOCAL_STORAGE_PATH.value())
    local_before = set(local_disk.rglob("*")) if local_disk.exists() else set()

    with temporary_settings({PREFECT_RESULTS_DEFAULT_STORAGE_BLOCK: "s3-bucket/test-results"}):
        flaky_once = music_etl_pipeline.with_options(retries=1, retry_delay_seconds=0)
        state = stores.run(flow=flaky_once, return_state=True)

    assert raised and state.is_completed()
    assert len(validations) == 5  # 2 catalogues + 3 files once; the retry hit the cache
    results = bucket_keys(s3, "prefect-results")
    assert len(results) >= 2 * (2 + 3 + 3 + 3)  # copy, validate, transform: result + record
    local_after = set(local_disk.rglob("*")) if local_disk.exists() else set()
    assert local_after == local_before, "results were also written to the local disk"
