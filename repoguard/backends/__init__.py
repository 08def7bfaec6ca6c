"""What the panel's REST API reads and writes: one interface, two backends.

- ``base``: the ``PanelBackend`` protocol and the helpers both backends share
  (which report files may be served, the result body).
- ``embedded``: a local workspace (``repoguard-pipeline init``), all file reads.
- ``aws``: production, the request repo over git, CodePipeline, S3 reports.
- ``s3``: report files in an S3 bucket.

Both answer ``fingerprint()`` cheaply and without any rate-limited GitHub API
call; the handlers derive each response's ETag from it and answer ``304``
before reading anything else. The run-state aggregation lives in
``repoguard.pipeline_status``; the findings are the pipeline's ``findings.json``, served as is.
"""

from __future__ import annotations

from .aws import AwsBackend, ls_remote_tip
from .base import PanelBackend, ReportNotFound, check_report_name
from .embedded import EmbeddedBackend
from .s3 import S3Reports

__all__ = [
    "AwsBackend",
    "EmbeddedBackend",
    "PanelBackend",
    "ReportNotFound",
    "S3Reports",
    "check_report_name",
    "ls_remote_tip",
]
