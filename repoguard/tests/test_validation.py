"""Python validation runs the same vectors as src/common/validate.ts (jest)."""

import json
from pathlib import Path

import pytest

from repoguard.validation import Policy, validate_request

CASES = json.loads(
    (
        Path(__file__).resolve().parents[2]
        / "src"
        / "common"
        / "fixtures"
        / "validation-cases.json"
    ).read_text()
)
POLICY = Policy(
    allowed_hosts=tuple(CASES["policy"]["allowedHosts"]),
    allowed_local_roots=tuple(CASES["policy"]["allowedLocalRoots"]),
)


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: json.dumps(c["set"])[:60])
def test_shared_validation_vector(case):
    row = {**CASES["base"], **case["set"]}
    errors = validate_request(row, POLICY)
    assert [e.field for e in errors] == case["fields"]
    if "reason" in case:
        assert case["reason"] in errors[0].reason


def test_file_urls_are_refused_without_local_roots():
    row = {**CASES["base"], "repo_url": "file:///srv/sources/pkg"}
    errors = validate_request(row, Policy(allowed_hosts=("github.com",)))
    assert [e.field for e in errors] == ["repo_url"]
    assert "embedded mode" in errors[0].reason
