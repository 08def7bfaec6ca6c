"""What verifying the pipeline's signed approval adds to ``%repoguard install``.

Makes a workspace key pair and an envelope the way the pipeline does (the
stage CLI's ``init`` and an Ed25519 DSSE signature), then times, in a fresh
interpreter each time, ``ApprovalVerifier.check`` including the import of
the verifier and of cryptography's Ed25519 (what a kernel pays on its first
install, on top of the installer it already imported).

    .venv/bin/python -m repoguard.bench.verify [--runs 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PROBE = r"""
import json, sys, time
import repoguard.installer  # what %repoguard install imports anyway
t0 = time.perf_counter()
from repoguard.attestation import ApprovalVerifier
v = ApprovalVerifier.embedded(sys.argv[1])
v.check("tidy", json.loads(sys.argv[2]))
print((time.perf_counter() - t0) * 1000)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from securesystemslib.dsse import Envelope
    from securesystemslib.signer import CryptoSigner

    from repoguard import attestation

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        (ws / "keys").mkdir()
        key = Ed25519PrivateKey.generate()
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        (ws / "keys" / attestation.PUBLIC_KEY_FILE).write_bytes(pem)
        row = {"request_id": "rq-1", "package_name": "tidy", "commit_sha": "a" * 40}
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
        envelope = Envelope(json.dumps(statement).encode(), attestation.PAYLOAD_TYPE, {})
        envelope.sign(CryptoSigner(key, attestation.key_from_pem(pem)))
        (ws / "reports" / "rq-1").mkdir(parents=True)
        (ws / "reports" / "rq-1" / attestation.ATTESTATION_FILE).write_text(
            json.dumps(envelope.to_dict())
        )
        cold = []
        for _ in range(args.runs):
            out = subprocess.run(
                [sys.executable, "-c", PROBE, str(ws), json.dumps(row)],
                capture_output=True,
                text=True,
                check=True,
            )
            cold.append(float(out.stdout))
        verifier = attestation.ApprovalVerifier.embedded(ws)
        import time

        warm = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            verifier.check("tidy", row)
            warm.append((time.perf_counter() - t0) * 1000)
    print(
        f"verify an approval: first in a fresh kernel (imports included) median "
        f"{statistics.median(cold):.1f} ms, max {max(cold):.1f} ms; "
        f"in a warm kernel median {statistics.median(warm):.2f} ms "
        f"({args.runs} runs; budget 50 ms)"
    )


if __name__ == "__main__":
    main()
