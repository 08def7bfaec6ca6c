"""CodePipeline state for the panel, against spec-derived responses.

The responses below are written from the CodePipeline API reference
(GetPipelineState, ListPipelineExecutions) and botocore's Stubber checks both
the requests and the responses against botocore's service model. They are not
recordings of a real pipeline.
"""

from datetime import datetime, timezone

import pytest
from botocore.session import get_session
from botocore.stub import Stubber

from repoguard.aws_status import CodePipelineStatus, request_time
from repoguard.backends import ReportNotFound, S3Reports

STARTED = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def _client(service: str):
    return get_session().create_client(
        service,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - never sent: the Stubber answers
    )


def _state(scan_status: str = "InProgress") -> dict:
    return {
        "pipelineName": "repoguard",
        "pipelineVersion": 3,
        "stageStates": [
            {
                "stageName": "Source",
                "latestExecution": {"pipelineExecutionId": "e-2", "status": "Succeeded"},
            },
            {
                "stageName": "Ingest",
                "latestExecution": {"pipelineExecutionId": "e-2", "status": "Succeeded"},
            },
            {
                "stageName": "Scan",
                "latestExecution": {"pipelineExecutionId": "e-2", "status": scan_status},
            },
            {
                "stageName": "Finish",
                "latestExecution": {"pipelineExecutionId": "e-1", "status": "Succeeded"},
            },
        ],
        "created": STARTED,
        "updated": STARTED,
    }


EXECUTIONS = {
    "pipelineExecutionSummaries": [
        {
            "pipelineExecutionId": "e-2",
            "status": "InProgress",
            "startTime": STARTED,
            "lastUpdateTime": datetime(2026, 1, 1, 12, 3, tzinfo=timezone.utc),
            "trigger": {"triggerType": "WebhookV2", "triggerDetail": "push"},
        },
        {
            "pipelineExecutionId": "e-1",
            "status": "Succeeded",
            "startTime": datetime(2026, 1, 1, 11, 0, tzinfo=timezone.utc),
            "lastUpdateTime": datetime(2026, 1, 1, 11, 9, tzinfo=timezone.utc),
        },
    ]
}


@pytest.fixture
def stubbed():
    client = _client("codepipeline")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def test_spec_derived_pipeline_view_names_stages_and_the_running_execution(stubbed):
    client, stub = stubbed
    stub.add_response("get_pipeline_state", _state(), {"name": "repoguard"})
    stub.add_response(
        "list_pipeline_executions", EXECUTIONS, {"pipelineName": "repoguard", "maxResults": 10}
    )
    view = CodePipelineStatus("repoguard", client=client).pipeline()
    assert view["stages"] == ["Source", "Ingest", "Scan", "Finish"]
    assert view["current"]["id"] == "e-2"
    assert view["current"]["stage"] == "Scan"
    assert view["current"]["started_at"] == "2026-01-01T12:00:00Z"
    assert [e["status"] for e in view["executions"]] == ["InProgress", "Succeeded"]
    assert view["executions"][1]["stage"] is None


def test_spec_derived_states_put_earlier_requests_in_the_running_stage(stubbed):
    client, stub = stubbed
    stub.add_response("get_pipeline_state", _state(), {"name": "repoguard"})
    stub.add_response(
        "list_pipeline_executions", EXECUTIONS, {"pipelineName": "repoguard", "maxResults": 5}
    )
    states = CodePipelineStatus("repoguard", client=client).states()
    # requested before e-2 started: it is in e-2's Scan stage
    assert states.get("rq-20260101-115900-abcdef")["stage"] == "Scan"
    # requested after: the next execution takes it
    assert states.get("rq-20260101-120500-abcdef") is None
    # an id without a time (legacy rows): assumed in the running execution
    assert states.get("legacy-1")["execution_id"] == "e-2"


def test_spec_derived_idle_pipeline_has_no_request_in_flight(stubbed):
    client, stub = stubbed
    stub.add_response("get_pipeline_state", _state("Succeeded"), {"name": "repoguard"})
    states = CodePipelineStatus("repoguard", client=client).states()
    assert states.get("rq-20260101-115900-abcdef") is None


def test_spec_derived_state_is_shared_within_the_ttl(stubbed):
    client, stub = stubbed
    now = [0.0]
    status = CodePipelineStatus("repoguard", client=client, ttl=5, clock=lambda: now[0])
    stub.add_response("get_pipeline_state", _state(), {"name": "repoguard"})
    first = status.fingerprint()
    now[0] = 4.0
    assert status.fingerprint() == first  # no second call: the Stubber would fail
    now[0] = 6.0
    stub.add_response("get_pipeline_state", _state("Succeeded"), {"name": "repoguard"})
    assert status.fingerprint() != first


def test_spec_derived_s3_report_read_and_missing_key():
    client = _client("s3")
    import io

    from botocore.response import StreamingBody

    with Stubber(client) as stub:
        body = b"<h1>report</h1>"
        stub.add_response(
            "get_object",
            {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentLength": len(body)},
            {"Bucket": "b", "Key": "reports/rq-1/report.html"},
        )
        stub.add_client_error(
            "get_object",
            service_error_code="NoSuchKey",
            http_status_code=404,
            expected_params={"Bucket": "b", "Key": "reports/rq-1/report.md"},
        )
        reports = S3Reports("b", client=client)
        assert reports.get("rq-1", "report.html") == (body, "text/html; charset=utf-8")
        with pytest.raises(ReportNotFound):
            reports.get("rq-1", "report.md")
        with pytest.raises(ReportNotFound):
            reports.get("rq-1", "../x.html")  # refused before any call


def test_request_time_reads_the_id():
    assert request_time("rq-20260101-115900-abc") == datetime(
        2026, 1, 1, 11, 59, tzinfo=timezone.utc
    )
    assert request_time("whatever") is None
