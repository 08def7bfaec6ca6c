"""What verifying the pipeline's signed approval adds to ``%repoguard install``, per key type.

Makes a workspace key pair and an envelope the way the pipeline signs one:
the embedded mode's Ed25519 key, and the AWS pipeline's KMS ECC_NIST_P256
key (ECDSA_SHA_256, DER signatures). Then times, in a fresh interpreter that
has imported the installer, the import of the verifier and one
``ApprovalVerifier.check`` (what a kernel pays on its first install), and
the check in a warm kernel. Wall time and CPU time are both reported: on a
loaded machine the wall time is mostly waiting for a core, the CPU time is
what the check costs. KMS ``GetPublicKey`` and the S3 read of the envelope
(the AWS installer's two calls) are network round trips, not counted here.

    .venv/bin/python -m repoguard.bench.verify [--runs 20]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from repoguard import attestation

WALL_PROBE = r"""
import json, sys, time
import repoguard.installer  # what %repoguard install imports anyway
t0 = time.perf_counter()
from repoguard.attestation import ApprovalVerifier
v = ApprovalVerifier.embedded(sys.argv[1])
v.check("tidy", json.loads(sys.argv[2]))
print((time.perf_counter() - t0) * 1000)
"""

CPU_PROBE = WALL_PROBE.replace("time.perf_counter()", "time.process_time()")


def workspace(root: Path, kind: str) -> dict[str, str]:
    """A workspace holding the public key and one signed approval; returns its row."""
    (root / "keys").mkdir()
    key = (
        ec.generate_private_key(ec.SECP256R1()) if kind == "p256" else Ed25519PrivateKey.generate()
    )
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (root / "keys" / attestation.PUBLIC_KEY_FILE).write_bytes(pem)
    statement = {
        "_type": attestation.STATEMENT_TYPE,
        "subject": [{"name": "tidy", "digest": {"gitCommit": "a" * 40}}],
        "predicateType": attestation.PREDICATE_TYPE,
        "predicate": {
            "decision": "approved",
            "requestId": "rq-1",
            "packageName": "tidy",
            "scanners": [{"name": f"s{i}", "status": "ok"} for i in range(8)],
        },
    }
    payload = json.dumps(statement).encode()
    signed = attestation.pae(attestation.PAYLOAD_TYPE, payload)
    sig = key.sign(signed, ec.ECDSA(hashes.SHA256())) if kind == "p256" else key.sign(signed)
    envelope = {
        "payloadType": attestation.PAYLOAD_TYPE,
        "payload": base64.b64encode(payload).decode(),
        "signatures": [
            {"keyid": attestation.key_id(key.public_key()), "sig": base64.b64encode(sig).decode()}
        ],
    }
    (root / "reports" / "rq-1").mkdir(parents=True)
    (root / "reports" / "rq-1" / attestation.ATTESTATION_FILE).write_text(json.dumps(envelope))
    return {"request_id": "rq-1", "package_name": "tidy", "commit_sha": "a" * 40}


def probe(code: str, ws: Path, row: dict[str, str]) -> float:
    """Milliseconds the probe reports from a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", code, str(ws), json.dumps(row)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    for kind in ("ed25519", "p256"):
        with tempfile.TemporaryDirectory() as tmp:
            ws = Path(tmp)
            row = workspace(ws, kind)
            wall = [probe(WALL_PROBE, ws, row) for _ in range(args.runs)]
            cpu = [probe(CPU_PROBE, ws, row) for _ in range(args.runs)]
            verifier = attestation.ApprovalVerifier.embedded(ws)
            warm = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                decision = verifier.check("tidy", row)
                warm.append((time.perf_counter() - t0) * 1000)
            assert decision.decision == "approved"
        print(
            f"{kind:8} fresh kernel: wall median {statistics.median(wall):.1f} ms "
            f"(max {max(wall):.1f}), CPU median {statistics.median(cpu):.1f} ms "
            f"(max {max(cpu):.1f}); warm kernel median {statistics.median(warm):.2f} ms "
            f"({args.runs} runs; budget 50 ms; load {os.getloadavg()[0]:.1f})"
        )


if __name__ == "__main__":
    main()
