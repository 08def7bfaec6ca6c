"""Verify the pipeline's signed decision before anything is installed.

Every decision the pipeline records comes with an in-toto Statement v1 in a
DSSE envelope (``attestation.dsse.json`` beside the report), signed with a
key only the pipeline holds (``backend-infra/pipeline/src/attest.ts``). A
results row alone is untrusted input: whoever can append to the request repo
could forge one. The installer therefore installs a commit only when

- the envelope verifies with the trusted public key (the embedded
  workspace's ``keys/attestation-ed25519.pub.pem``, or in AWS the pipeline's
  KMS key named by the deployment contract: its pinned ``signingPublicKey``
  PEM, else ``kms:GetPublicKey`` of ``signingKeyArn``): DSSE v1 with Ed25519
  or ECDSA P-256/SHA-256 with DER signatures, as KMS returns them
  (``cryptography``), the envelopes interoperable with securesystemslib's
  (the tests sign with it);
- its statement is a RepoGuard decision for this package, ``approved``, about
  exactly the commit that was fetched (``subject.digest.gitCommit``), and
  about the same request as the row.

``keyid`` is the sha256 of the public key's SPKI DER, as the signer sets it.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .contract import pattern

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://repoguard.dev/attestation/decision/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
ATTESTATION_FILE = "attestation.dsse.json"
PUBLIC_KEY_FILE = "attestation-ed25519.pub.pem"
#: The key spec of the pipeline's KMS signing key (``backend-infra/lib/stacks/pipeline-stack.ts``).
KMS_KEY_SPEC = "ECC_NIST_P256"


class AttestationError(Exception):
    """The approval cannot be verified; the message says why."""


@dataclass(frozen=True)
class Decision:
    """The verified predicate of one signed decision."""

    decision: str
    request_id: str
    package_name: str
    commit_sha: str
    archive_sha256: str
    predicate: dict


def key_from_pem(public_key_pem: bytes):
    """The securesystemslib key of a PEM public key, keyid = sha256 of its SPKI DER (for signers)."""
    from securesystemslib.signer import SSlibKey

    public = _public_key(public_key_pem)
    return SSlibKey.from_crypto(public, keyid=key_id(public))


def _public_key(public_key_pem: bytes):
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_public_key(public_key_pem)


def key_id(public) -> str:
    """sha256 (hex) of a public key's SPKI DER: the envelope's ``keyid``."""
    from cryptography.hazmat.primitives import serialization

    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def kms_public_key_pem(kms, deployment) -> bytes:
    """PEM of the contract's KMS signing key (``kms:GetPublicKey``); it must be ECC_NIST_P256."""
    from cryptography.hazmat.primitives import serialization

    from .deployment import aws_client

    client = kms if kms is not None else aws_client(deployment, "kms")
    try:
        reply = client.get_public_key(KeyId=deployment.signing_key_arn)
    except Exception as error:  # botocore's errors: no access, no such key, no network
        raise AttestationError(
            f"the pipeline's signing key {deployment.signing_key_arn} cannot be read ({error})"
        ) from None
    # CustomerMasterKeySpec: the deprecated name KMS still returns (and emulators only).
    spec = reply.get("KeySpec") or reply.get("CustomerMasterKeySpec")
    if spec != KMS_KEY_SPEC or reply.get("KeyUsage") != "SIGN_VERIFY":
        raise AttestationError(
            f"the pipeline's signing key is {spec}/{reply.get('KeyUsage')},"
            f" not {KMS_KEY_SPEC}/SIGN_VERIFY"
        )
    public = serialization.load_der_public_key(reply["PublicKey"])
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding (the bytes that are signed).

    Written here rather than imported: securesystemslib's ``dsse`` module
    imports all of its signers, boto3 included, which costs a kernel over a
    second on its first install. The tests check it against securesystemslib.
    """
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def verify_envelope(envelope_bytes: bytes, public_key_pem: bytes) -> Decision:
    """The decision inside a DSSE envelope that verifies with the trusted key."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        envelope = json.loads(envelope_bytes)
        payload_type = envelope["payloadType"]
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = [(s["keyid"], base64.b64decode(s["sig"])) for s in envelope["signatures"]]
    except (ValueError, KeyError, TypeError) as error:
        raise AttestationError(f"the attestation is not a DSSE envelope ({error})") from None
    if payload_type != PAYLOAD_TYPE:
        raise AttestationError(f"the attestation's payload type is {payload_type!r}")
    try:
        public = _public_key(public_key_pem)
    except (ValueError, TypeError) as error:
        raise AttestationError(f"the trusted public key cannot be read ({error})") from None
    if isinstance(public, Ed25519PublicKey):
        check = public.verify
    elif isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, ec.SECP256R1):

        def check(signature: bytes, data: bytes) -> None:
            public.verify(signature, data, ec.ECDSA(hashes.SHA256()))

    else:
        raise AttestationError("the trusted public key is neither Ed25519 nor ECDSA P-256")
    trusted, signed = key_id(public), pae(payload_type, payload)
    for keyid, signature in signatures:
        if keyid != trusted:
            continue
        try:
            check(signature, signed)
            break
        except InvalidSignature:
            continue
    else:
        raise AttestationError(
            "the attestation's signature does not verify with the pipeline's key"
        )
    try:
        statement = json.loads(payload)
    except ValueError:
        raise AttestationError("the attestation's statement is not JSON") from None
    if statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise AttestationError("the attestation is not a RepoGuard decision statement")
    subjects = statement.get("subject") or [{}]
    digest = subjects[0].get("digest") or {}
    predicate = statement.get("predicate") or {}
    return Decision(
        decision=str(predicate.get("decision", "")),
        request_id=str(predicate.get("requestId", "")),
        package_name=str(predicate.get("packageName", "")),
        commit_sha=str(digest.get("gitCommit", "")),
        archive_sha256=str(digest.get("sha256", "")),
        predicate=predicate,
    )


def check_approval(
    envelope_bytes: bytes | None,
    public_key_pem: bytes | None,
    *,
    name: str,
    request_id: str,
    commit_sha: str,
) -> Decision:
    """The verified approval of ``name`` at ``commit_sha``, or AttestationError saying why not."""
    if public_key_pem is None:
        raise AttestationError(
            "no trusted pipeline key is configured (embedded: the workspace's keys/;"
            " aws: the deployment contract's signingKeyArn), so no approval can be checked"
        )
    if envelope_bytes is None:
        raise AttestationError(
            f"request {request_id} has no signed attestation: the results row alone is not an approval"
        )
    decision = verify_envelope(envelope_bytes, public_key_pem)
    if decision.request_id != request_id or decision.package_name != name:
        raise AttestationError(
            f"the attestation is for request {decision.request_id!r} ({decision.package_name!r}),"
            f" not {request_id!r} ({name!r})"
        )
    if decision.commit_sha != commit_sha:
        raise AttestationError(
            f"the attestation names commit {decision.commit_sha[:12] or '(none)'},"
            f" not the fetched {commit_sha[:12]}"
        )
    if decision.decision != "approved":
        raise AttestationError(f"the signed decision is {decision.decision!r}, not approved")
    return decision


class ApprovalVerifier:
    """Checks a result row's signed approval before its commit is installed.

    ``public_key`` is the trusted pipeline key (PEM), ``envelope_for`` returns
    the attestation stored for a request id (or None). Both come from places
    only the pipeline writes: the workspace's ``keys/`` and ``reports/``
    folders in the embedded mode.
    """

    def __init__(self, public_key: Callable[[], bytes | None], envelope_for):
        self._public_key = public_key
        self._envelope_for = envelope_for

    @classmethod
    def embedded(cls, workspace_root: Path) -> ApprovalVerifier:
        keys = Path(workspace_root) / "keys" / PUBLIC_KEY_FILE
        reports = Path(workspace_root) / "reports"

        def public_key() -> bytes | None:
            return keys.read_bytes() if keys.is_file() else None

        def envelope_for(request_id: str) -> bytes | None:
            if not pattern("safeId").match(request_id):
                return None
            file = reports / request_id / ATTESTATION_FILE
            return file.read_bytes() if file.is_file() else None

        return cls(public_key, envelope_for)

    @classmethod
    def aws(cls, deployment, *, kms=None, s3=None) -> ApprovalVerifier:
        """The production verifier: the contract's KMS key, the report bucket's attestations.

        The trusted key is the contract's ``signingPublicKey`` (a PEM pinned by
        the operator) or else the public half of ``signingKeyArn``, read once
        with ``kms:GetPublicKey`` (through the reader role when the contract
        names one) and checked to be the pipeline's key spec. The envelope is
        ``<reportPrefix><request_id>/attestation.dsse.json`` of the report
        bucket, which only the pipeline's stages may write.
        """
        from .backends.base import ReportNotFound
        from .backends.s3 import S3Reports

        cached: list[bytes] = []

        def public_key() -> bytes | None:
            if deployment.signing_public_key:
                return deployment.signing_public_key.encode()
            if not deployment.signing_key_arn:
                return None
            if not cached:
                cached.append(kms_public_key_pem(kms, deployment))
            return cached[0]

        reports = S3Reports(
            deployment.report_bucket,
            deployment.report_prefix,
            client=s3,
            region=deployment.region,
        )

        def envelope_for(request_id: str) -> bytes | None:
            if not deployment.report_bucket:
                return None
            try:
                return reports.get(request_id, ATTESTATION_FILE)[0]
            except ReportNotFound:
                return None

        return cls(public_key, envelope_for)

    def check(self, name: str, row: dict[str, str]) -> Decision:
        request_id = row.get("request_id", "")
        return check_approval(
            self._envelope_for(request_id),
            self._public_key(),
            name=row.get("package_name", name),
            request_id=request_id,
            commit_sha=row.get("commit_sha", ""),
        )
