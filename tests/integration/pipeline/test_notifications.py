"""Data-quality reports reach people through a Prefect notification block."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from prefect.blocks.notifications import CustomWebhookNotificationBlock

from tests.integration.helpers import streams_csv


@pytest.fixture
def receiver():
    """A small HTTP server on 127.0.0.1 that keeps every JSON body posted to it."""
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the http.server API
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


@pytest.mark.parametrize("new_warehouse", ["duckdb"], indirect=True)
def test_rejections_and_quarantine_are_sent_with_the_data_docs_link(stores, receiver):
    url, received = receiver
    CustomWebhookNotificationBlock(
        name="music-etl alerts", url=url, json_data={"text": "{{subject}}\n{{body}}"}
    ).save("test-alerts", overwrite=True)
    stores.write("streams/good.csv", streams_csv([(1, "A1", "2026-11-27 10:00:00")] * 1
                 + [("x", "A1", "2026-11-27 10:00:00")] + [(2, "A1", "2026-11-27 10:01:00")] * 2))
    stores.write("streams/missing_column.csv", "user_id,track_id\n1,A1\n")

    summary = stores.run(notification_block="custom-webhook/test-alerts")

    assert len(received) == 1
    text = received[0]["text"]
    assert text.startswith("music-etl: 1 file(s) rejected, 1 row(s) quarantined")
    assert "- rejected streams/missing_column.csv: missing required column(s): listen_time" in text
    assert "- streams/good.csv: 1 quarantined (invalid_user_id=1)" in text
    assert f"Data Docs: {summary.data_docs}" in text
    assert "\nFlow run: http://127.0.0.1:" in text  # the run's page in the Prefect UI

    stores.write("streams/clean.csv", streams_csv([(3, "A2", "2026-11-27 11:00:00")]))
    stores.run(notification_block="custom-webhook/test-alerts")
    assert len(received) == 1  # nothing wrong this time: no message
