"""moto server whose Step Functions interpreter can run `codebuild:startBuild.sync`.

Test support for backend-infra/pipeline/test/fanout-asl.test.ts. moto 5.x
executes state machines with the ASL interpreter ported from LocalStack
(Distributed Map with an S3 ItemReader, MaxConcurrency, tolerated failures,
Catch, Choice, intrinsics), but lists CodeBuild as an unsupported optimised
integration: it forwards only `.waitForTaskToken` calls, and a `.sync` task
fails with "Unsupported .sync callback procedure". This module adds that one
integration as AWS documents it: StartBuild, then poll BatchGetBuilds until the
build ends; SUCCEEDED gives `{"Build": ...}`, any other end fails the task with
`States.TaskFailed` and the build as the Cause. The CodeBuild calls go to
CODEBUILD_ENDPOINT (the test's loopback CodeBuild double); everything else
(S3, Step Functions) is moto itself.

    python moto_sfn_codebuild.py -H 127.0.0.1 -p PORT     (MOTO_PORT=PORT, CODEBUILD_ENDPOINT=...)
"""

import os
import sys

import boto3
from moto.core.config import default_user_config
from moto.server import main
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import (
    StatesErrorName,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_factory
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
    StateTaskServiceCallback,
)
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str


def _camel(value):
    """ASL's Parameters are PascalCase (ProjectName, EnvironmentVariablesOverride[].Name); boto3's are camelCase."""
    if isinstance(value, dict):
        return {k[:1].lower() + k[1:]: _camel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camel(v) for v in value]
    return value


def _codebuild():
    return boto3.client(
        "codebuild",
        endpoint_url=os.environ["CODEBUILD_ENDPOINT"],
        region_name="us-east-1",
        aws_access_key_id=os.environ["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    )


class CodeBuildStartBuildSync(StateTaskServiceCallback):
    """`arn:aws:states:::codebuild:startBuild.sync` (and request-response)."""

    def __init__(self):
        # As moto's own .sync integrations (batch) do: its callback code expects a task-token endpoint.
        super().__init__(
            supported_integration_patterns={
                ResourceCondition.Sync,
                ResourceCondition.WaitForTaskToken,
            }
        )

    def _get_supported_parameters(self):
        if self.resource.api_action.lower() != "startbuild":
            return None
        return {"ProjectName", "EnvironmentVariablesOverride", "SourceVersion", "BuildspecOverride"}

    def _eval_service_task(
        self, env, resource_runtime_part, normalised_parameters, state_credentials
    ):
        response = _codebuild().start_build(**_camel(normalised_parameters))
        response.pop("ResponseMetadata", None)
        env.stack.append(response)

    def _build_sync_resolver(
        self, env, resource_runtime_part, normalised_parameters, state_credentials
    ):
        build_id = env.stack.pop()["build"]["id"]
        client = _codebuild()

        def resolve():
            build = client.batch_get_builds(ids=[build_id])["builds"][0]
            if build["buildStatus"] == "IN_PROGRESS":
                return None
            output = {
                "Build": {
                    "Id": build["id"],
                    "BuildStatus": build["buildStatus"],
                    "TimeoutInMinutes": build.get("timeoutInMinutes"),
                }
            }
            if build["buildStatus"] == "SUCCEEDED":
                return output
            raise FailureEventException(
                FailureEvent(
                    env=env,
                    error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
                    event_type=HistoryEventType.TaskFailed,
                    event_details=EventDetails(
                        taskFailedEventDetails=TaskFailedEventDetails(
                            resource=self._get_sfn_resource(),
                            resourceType=self._get_sfn_resource_type(),
                            error=StatesErrorNameType.StatesTaskFailed.to_name(),
                            cause=to_json_str(output),
                        )
                    ),
                )
            )

        return resolve


_original = state_task_factory.state_task_service_for


def _service_for(service_name):
    if service_name == "codebuild":
        return CodeBuildStartBuildSync()
    return _original(service_name)


state_task_factory.state_task_service_for = _service_for
default_user_config["stepfunctions"] = {"execute_state_machine": True}

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
