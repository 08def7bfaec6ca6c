"""Report files in an S3 bucket (boto3 imported lazily)."""

from __future__ import annotations

from .base import ReportNotFound, check_report_name


class S3Reports:
    """Report files in ``s3://bucket/prefix<request_id>/<name>`` (boto3 imported lazily)."""

    def __init__(self, bucket: str, prefix: str = "reports/", *, client=None, region=None):
        self.bucket = bucket
        self.prefix = prefix
        self._client = client
        self._region = region

    @property
    def client(self):
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", region_name=self._region or None)
        return self._client

    def get(self, request_id: str, name: str) -> tuple[bytes, str]:
        content_type = check_report_name(request_id, name)
        from botocore.exceptions import ClientError

        try:
            reply = self.client.get_object(
                Bucket=self.bucket, Key=f"{self.prefix}{request_id}/{name}"
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "AccessDenied"):
                raise ReportNotFound(f"no report file {request_id}/{name}") from error
            raise
        return reply["Body"].read(), content_type
