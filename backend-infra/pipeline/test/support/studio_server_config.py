"""Jupyter server config of the offline AWS harness's Studio side (aws-e2e.test.ts), test only.

Copied as ``jupyter_server_config.py`` into a folder the test names in
``JUPYTER_CONFIG_PATH``, beside the server config the synthesized lifecycle
script wrote; nothing else loads it, and it is not part of the wheel. It adds the one AWS answer moto cannot give:
moto's CodePipeline has no ``GetPipelineState`` and no
``ListPipelineExecutions``, so those two calls are answered here from the
JSON file ``REPOGUARD_E2E_CODEPIPELINE_ANSWERS`` names, the way botocore's
``Stubber`` answers (a ``before-call`` handler on the default boto3 session,
each answer validated against the operation's output shape). Every other
AWS call goes to moto through ``AWS_ENDPOINT_URL``.
"""

import json
import os
from datetime import datetime
from pathlib import Path

import boto3
from botocore.awsrequest import AWSResponse
from botocore.validate import ParamValidator

c = get_config()  # noqa: F821 - provided by Jupyter when it reads this file

_ANSWERS = json.loads(
    Path(os.environ["REPOGUARD_E2E_CODEPIPELINE_ANSWERS"]).read_text(encoding="utf-8")
)
_TIMES = ("created", "updated", "startTime", "lastUpdateTime", "lastStatusChange")


def _timestamps(value):
    """The answers' ISO times as datetimes, as botocore parses them."""
    if isinstance(value, list):
        return [_timestamps(v) for v in value]
    if isinstance(value, dict):
        return {
            k: datetime.fromisoformat(v.replace("Z", "+00:00"))
            if k in _TIMES and isinstance(v, str)
            else _timestamps(v)
            for k, v in value.items()
        }
    return value


def _answer(model, params, **kwargs):
    answer = _ANSWERS.get(model.name)
    if answer is None:
        return None  # not ours: the call goes on to the endpoint
    # `params` is the serialized request (CodePipeline speaks JSON): the call's own parameters.
    called = json.loads(params["body"] or b"{}")
    if called.get("name", called.get("pipelineName")) != answer["pipeline"]:
        raise AssertionError(f"{model.name} of an unknown pipeline: {called}")
    parsed = _timestamps(answer["response"])
    report = ParamValidator().validate(parsed, model.output_shape)
    if report.has_errors():
        raise AssertionError(
            f"{model.name}: the canned answer is invalid: {report.generate_report()}"
        )
    return AWSResponse(None, 200, {}, None), {**parsed, "ResponseMetadata": {"HTTPStatusCode": 200}}


boto3.setup_default_session()
for _operation in _ANSWERS:
    boto3.DEFAULT_SESSION.events.register(f"before-call.codepipeline.{_operation}", _answer)
