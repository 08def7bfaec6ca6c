"""The installer's verifier with the AWS pipeline's key: ECDSA P-256 (KMS
ECC_NIST_P256, ECDSA_SHA_256, DER signatures), the public key read from KMS
(moto, in process: no network) or pinned in the deployment contract, the
envelope read from the report bucket."""

from __future__ import annotations

import base64
import json
import secrets

import pytest

from repoguard import attestation
from repoguard.attestation import ApprovalVerifier, AttestationError
from repoguard.deployment import Deployment

SHA = "e" * 40
ROW = {"request_id": "rq-aws", "package_name": "tidy", "commit_sha": SHA}


def statement(commit: str = SHA, decision: str = "approved") -> bytes:
    return json.dumps(
        {
            "_type": attestation.STATEMENT_TYPE,
            "subject": [{"name": "tidy", "digest": {"gitCommit": commit}}],
            "predicateType": attestation.PREDICATE_TYPE,
            "predicate": {"decision": decision, "requestId": "rq-aws", "packageName": "tidy"},
        }
    ).encode()


def envelope(payload: bytes, keyid: str, signature: bytes) -> bytes:
    return json.dumps(
        {
            "payloadType": attestation.PAYLOAD_TYPE,
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"keyid": keyid, "sig": base64.b64encode(signature).decode()}],
        }
    ).encode()


def test_an_ecdsa_p256_envelope_verifies_and_a_p384_key_is_refused():
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    payload = statement()
    sig = private.sign(
        attestation.pae(attestation.PAYLOAD_TYPE, payload), ec.ECDSA(hashes.SHA256())
    )
    good = envelope(payload, attestation.key_id(public), sig)
    assert attestation.verify_envelope(good, pem).commit_sha == SHA
    # The same signature over another statement does not verify.
    with pytest.raises(AttestationError, match="does not verify"):
        attestation.verify_envelope(
            envelope(statement("f" * 40), attestation.key_id(public), sig), pem
        )
    other = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(AttestationError, match="neither Ed25519 nor ECDSA P-256"):
        attestation.verify_envelope(
            good,
            other.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )


@pytest.fixture
def aws(monkeypatch):
    """moto's KMS and S3 in this process (no network); credentials made at run time."""
    from moto import mock_aws

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIA" + secrets.token_hex(8).upper())
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secrets.token_urlsafe(30))
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        import boto3

        kms = boto3.client("kms", region_name="eu-west-1")
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="rg-reports", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield kms, s3


def kms_signed(kms, key_arn: str, payload: bytes) -> bytes:
    """An envelope signed by KMS as the pipeline's kmsSigner does (RAW PAE, ECDSA_SHA_256)."""
    from cryptography.hazmat.primitives import serialization

    signature = kms.sign(
        KeyId=key_arn,
        Message=attestation.pae(attestation.PAYLOAD_TYPE, payload),
        MessageType="RAW",
        SigningAlgorithm="ECDSA_SHA_256",
    )["Signature"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key_arn)["PublicKey"])
    return envelope(payload, attestation.key_id(public), signature)


def test_the_aws_verifier_trusts_the_contracts_kms_key_and_reads_the_bucket(aws):
    kms, s3 = aws
    arn = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    deployment = Deployment(
        region="eu-west-1", pipeline_name="rg", report_bucket="rg-reports", signing_key_arn=arn
    )
    verifier = ApprovalVerifier.aws(deployment, kms=kms, s3=s3)
    # No attestation in the bucket: the row alone is not an approval.
    with pytest.raises(AttestationError, match="no signed attestation"):
        verifier.check("tidy", ROW)
    s3.put_object(
        Bucket="rg-reports",
        Key="reports/rq-aws/attestation.dsse.json",
        Body=kms_signed(kms, arn, statement()),
    )
    assert verifier.check("tidy", ROW).commit_sha == SHA
    # Another commit than the signed one is refused.
    with pytest.raises(AttestationError, match="names commit eeeeeeeeeeee"):
        verifier.check("tidy", {**ROW, "commit_sha": "a" * 40})
    # Signed by another KMS key (not the contract's): refused.
    other = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    s3.put_object(
        Bucket="rg-reports",
        Key="reports/rq-aws/attestation.dsse.json",
        Body=kms_signed(kms, other, statement()),
    )
    with pytest.raises(AttestationError, match="does not verify"):
        verifier.check("tidy", ROW)


def test_a_pinned_public_key_needs_no_kms_call_and_a_wrong_key_spec_is_refused(aws):
    kms, s3 = aws
    from cryptography.hazmat.primitives import serialization

    arn = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    pem = (
        serialization.load_der_public_key(kms.get_public_key(KeyId=arn)["PublicKey"])
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    s3.put_object(
        Bucket="rg-reports",
        Key="reports/rq-aws/attestation.dsse.json",
        Body=kms_signed(kms, arn, statement()),
    )

    class NoKms:
        def get_public_key(self, **_):
            raise AssertionError("a pinned key needs no KMS call")

    pinned = Deployment(
        region="eu-west-1", pipeline_name="rg", report_bucket="rg-reports", signing_public_key=pem
    )
    assert ApprovalVerifier.aws(pinned, kms=NoKms(), s3=s3).check("tidy", ROW).decision == (
        "approved"
    )
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    wrong = Deployment(
        region="eu-west-1", pipeline_name="rg", report_bucket="rg-reports", signing_key_arn=rsa
    )
    with pytest.raises(AttestationError, match="RSA_2048/SIGN_VERIFY, not ECC_NIST_P256"):
        ApprovalVerifier.aws(wrong, kms=kms, s3=s3).check("tidy", ROW)
    # A contract that names no key: nothing can be checked, nothing installs.
    bare = Deployment(region="eu-west-1", pipeline_name="rg", report_bucket="rg-reports")
    with pytest.raises(AttestationError, match="no trusted pipeline key"):
        ApprovalVerifier.aws(bare, kms=kms, s3=s3).check("tidy", ROW)


def test_the_aws_mode_installer_verifies_and_fails_closed_without_a_contract_key(monkeypatch):
    from repoguard.config import load_settings
    from repoguard.installer import installer_from_settings

    for name in ("REPOGUARD_WORKSPACE", "REPOGUARD_DEPLOYMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REPOGUARD_MODE", "aws")
    monkeypatch.setenv("REPOGUARD_REQUEST_REPO_URL", "https://github.com/acme/requests")
    installer = installer_from_settings(load_settings())
    assert isinstance(installer.verifier, ApprovalVerifier)
    with pytest.raises(AttestationError, match="no trusted pipeline key"):
        installer.verifier.check("tidy", ROW)
