"""The feedback handler's one document per batch: its summary log line and, in EMF, its metrics."""

from __future__ import annotations

import json
import logging

import pytest

from bench import workload
from bench.fake_dynamo import FakeDeskmailClient
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.observability import emit_summary, logger
from chalicelib.services import feedback_handler
from tests import ses_payloads as ses


def _documents(captured: str) -> list[dict]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def _batch(capsys, notifications, bodies) -> list[dict]:
    table = DeskmailTable(FakeDeskmailClient(), "deskmail-test")
    table.write_items(workload.items_for(notifications))
    capsys.readouterr()
    response = feedback_handler.handle(
        ses.sqs_event(bodies), None, table, "2026-12-01T10:00:00.000Z", 1_796_000_000, "deskmail-dev"
    )
    assert response == {"batchItemFailures": []}
    return _documents(capsys.readouterr().out)


def test_a_batch_writes_one_document_with_its_counts_as_emf_metrics_and_its_summary(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")
    notifications = workload.recorded_notifications(3)
    kinds = ("delivery", "bounce", "bounce")
    bodies = [workload.feedback_body(kind, n) for kind, n in zip(kinds, notifications, strict=True)]

    (document,) = _batch(capsys, notifications, bodies)

    directive = document["_aws"]["CloudWatchMetrics"][0]
    names = [metric["Name"] for metric in directive["Metrics"]]
    assert directive["Namespace"] == "Deskmail" and directive["Dimensions"] == [["service"]]
    assert document["service"] == "deskmail" and isinstance(document["_aws"]["Timestamp"], int)
    assert {metric["Unit"] for metric in directive["Metrics"]} == {"Count"}
    assert set(names) == {"NotificationsProcessed", "DeliveryFailures", "DeliveryFailures_invalid_address"}
    assert {name: document[name] for name in names} == {
        "NotificationsProcessed": 3,
        "DeliveryFailures": 2,
        "DeliveryFailures_invalid_address": 2,
    }
    assert document["level"] == "INFO" and document["message"] == "feedback batch processed"
    assert (document["received"], document["recorded"], document["failed"]) == (3, 3, 0)
    assert document["by_type"] == {"Delivery": 1, "Bounce": 2}
    # Each failure is named, its address masked: the line finds the message without giving the address away.
    assert sorted(f["recipient"] for f in document["failures"]) == ["c***@example.com", "c***@example.com"]
    assert "carl.1@example.com" not in json.dumps(document)


def test_with_metrics_disabled_the_summary_line_carries_no_emf_directive(capsys, monkeypatch):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    notifications = workload.recorded_notifications(1)

    (document,) = _batch(capsys, notifications, [workload.feedback_body("delivery", notifications[0])])

    assert "_aws" not in document and "NotificationsProcessed" not in document
    assert document["message"] == "feedback batch processed" and document["recorded"] == 1


@pytest.fixture
def warnings_only():
    level = logger.log_level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def test_with_the_logger_above_info_only_the_metrics_are_written(capsys, monkeypatch, warnings_only):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")

    emit_summary("feedback batch processed", {"recorded": 4}, {"NotificationsProcessed": 4}, "2026-12-01T10:00:00.000Z")

    (document,) = _documents(capsys.readouterr().out)
    assert document["NotificationsProcessed"] == 4 and "message" not in document and "recorded" not in document


def test_nothing_is_written_when_neither_the_line_nor_metrics_are_wanted(capsys, monkeypatch, warnings_only):
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")

    emit_summary("feedback batch processed", {"recorded": 4}, {"NotificationsProcessed": 4}, "2026-12-01T10:00:00.000Z")

    assert capsys.readouterr().out == ""
