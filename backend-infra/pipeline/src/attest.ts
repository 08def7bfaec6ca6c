/**
 * Signed decisions: every decision the pipeline records is also an in-toto
 * attestation (Statement v1) in a DSSE envelope, signed with a key only the
 * pipeline can use, so that an installer can check that an approval came
 * from the pipeline and names the exact commit it is about to install. A
 * results row alone (which anyone with write access to the request repo can
 * append) is not an approval.
 *
 * - Statement: `subject` is the package with the scanned commit
 *   (`gitCommit`) and the sha256 of `git archive` of that commit (the bytes
 *   the installer builds); `predicate` holds the decision, the scanners that
 *   ran (status, pinned config), the advisory data, the policy, the severity
 *   counts and the waivers used.
 * - Envelope: DSSE (payloadType `application/vnd.in-toto+json`), the PAE
 *   from @sigstore/core, signature Ed25519 (node:crypto). `keyid` is the
 *   sha256 of the public key's SPKI DER, which the Python verifier computes
 *   the same way.
 * - Keys: the embedded workspace keeps `keys/attestation-ed25519.pem` (mode
 *   0600; the pipeline's) and `keys/attestation-ed25519.pub.pem` (what
 *   installers trust). In AWS the signer is `kmsSigner`: an asymmetric KMS
 *   key (ECC_NIST_P256, ECDSA_SHA_256) whose private half never leaves KMS
 *   and that only the pipeline's signing roles may use (lib/stacks/
 *   pipeline-stack.ts); installers trust its public key (GetPublicKey, or the
 *   PEM pinned in the deployment contract). ECDSA signatures are DER, as
 *   KMS returns them and as sigstore/securesystemslib write them.
 */
import {
  GetPublicKeyCommand,
  SignCommand,
  type KMSClient,
  type SigningAlgorithmSpec
} from '@aws-sdk/client-kms';
import { dsse } from '@sigstore/core';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign as edSign,
  verify as cryptoVerify,
  KeyObject
} from 'node:crypto';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GIT_ENV } from './git';
import type { IManifestItem } from './types';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const PREDICATE_TYPE = 'https://repoguard.dev/attestation/decision/v1';
export const PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const ATTESTATION_FILE = 'attestation.dsse.json';

export interface ISigner {
  /** PEM (SPKI) of the public key that verifies this signer's signatures. */
  publicKeyPem(): Promise<string>;
  sign(data: Buffer): Promise<{ keyId: string; signature: Buffer }>;
}

export interface IStatement {
  _type: typeof STATEMENT_TYPE;
  subject: { name: string; uri?: string; digest: Record<string, string> }[];
  predicateType: typeof PREDICATE_TYPE;
  predicate: IDecisionPredicate;
}

export interface IDecisionPredicate {
  decision: string;
  requestId: string;
  packageName: string;
  repoUrl: string;
  ref: string;
  commitSha: string;
  privateRepoUrl: string;
  scannedAt: string;
  executionId: string;
  reason: string;
  maxSeverity: string;
  counts: Record<string, number>;
  scanners: { name: string; status: string; message?: string }[];
  policy: Record<string, unknown>;
  waivers: string[];
  /** A revocation names the decision it replaces. */
  revokes?: { executionId: string; scannedAt: string };
}

export interface IEnvelope {
  payloadType: string;
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** sha256 (hex) of a public key's SPKI DER: the envelope's `keyid`. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex');
}

/** The local Ed25519 signer of an embedded workspace (the key pair is made on first use). */
export function localSigner(keysDir: string): ISigner {
  const privateFile = path.join(keysDir, 'attestation-ed25519.pem');
  const publicFile = path.join(keysDir, 'attestation-ed25519.pub.pem');
  let loaded: Promise<{ privateKey: KeyObject; publicKeyPem: string; keyId: string }> | null = null;
  const load = async () => {
    let privateKey: KeyObject;
    try {
      privateKey = createPrivateKey(await readFile(privateFile, 'utf8'));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw error;
      }
      await mkdir(keysDir, { recursive: true, mode: 0o700 });
      privateKey = generateKeyPairSync('ed25519').privateKey;
      try {
        await writeFile(privateFile, privateKey.export({ format: 'pem', type: 'pkcs8' }), {
          mode: 0o600,
          flag: 'wx'
        });
      } catch (raced) {
        if ((raced as NodeJS.ErrnoException).code !== 'EEXIST') throw raced;
        // Another worker made the key first: use that one.
        privateKey = createPrivateKey(await readFile(privateFile, 'utf8'));
      }
      await chmod(privateFile, 0o600);
    }
    const publicKey = createPublicKey(privateKey);
    const publicKeyPem = String(publicKey.export({ format: 'pem', type: 'spki' }));
    await writeFile(publicFile, publicKeyPem, { mode: 0o644 });
    return { privateKey, publicKeyPem, keyId: keyIdOf(publicKey) };
  };
  const key = () => (loaded ??= load());
  return {
    async publicKeyPem() {
      return (await key()).publicKeyPem;
    },
    async sign(data) {
      const { privateKey, keyId } = await key();
      return { keyId, signature: edSign(null, data, privateKey) };
    }
  };
}

/** The largest message KMS signs as RAW; a longer PAE is signed as its SHA-256 digest. */
export const KMS_RAW_LIMIT = 4096;
/** The KMS key spec and signing algorithm of the pipeline's attestation key. */
export const KMS_KEY_SPEC = 'ECC_NIST_P256';
export const KMS_SIGNING_ALGORITHM: SigningAlgorithmSpec = 'ECDSA_SHA_256';

/**
 * The AWS signer: `kms:Sign` with an ECC_NIST_P256 key (`keyId`: its ARN,
 * id or alias). The DSSE PAE is sent as it is (MessageType RAW, KMS hashes it
 * with SHA-256) when it fits KMS's 4,096-byte limit, else as its SHA-256
 * digest (MessageType DIGEST); both give the same ECDSA_SHA_256 signature
 * over the PAE, which any verifier checks with the public key alone. The
 * public key is read once (kms:GetPublicKey) and must be that key spec.
 */
export function kmsSigner(client: Pick<KMSClient, 'send'>, keyId: string): ISigner {
  let loaded: Promise<{ publicKeyPem: string; keyId: string }> | null = null;
  const load = async () => {
    const reply = await client.send(new GetPublicKeyCommand({ KeyId: keyId }));
    // CustomerMasterKeySpec: the deprecated name KMS still returns (and emulators only).
    const spec = reply.KeySpec ?? reply.CustomerMasterKeySpec;
    if (spec !== KMS_KEY_SPEC || reply.KeyUsage !== 'SIGN_VERIFY') {
      throw new Error(
        `KMS key ${keyId} is ${spec ?? '?'}/${reply.KeyUsage ?? '?'}, not ${KMS_KEY_SPEC}/SIGN_VERIFY`
      );
    }
    if (!reply.SigningAlgorithms?.includes(KMS_SIGNING_ALGORITHM) || !reply.PublicKey) {
      throw new Error(`KMS key ${keyId} cannot sign with ${KMS_SIGNING_ALGORITHM}`);
    }
    const publicKey = createPublicKey({
      key: Buffer.from(reply.PublicKey),
      format: 'der',
      type: 'spki'
    });
    return {
      publicKeyPem: String(publicKey.export({ format: 'pem', type: 'spki' })),
      keyId: keyIdOf(publicKey)
    };
  };
  const key = () => (loaded ??= load());
  return {
    async publicKeyPem() {
      return (await key()).publicKeyPem;
    },
    async sign(data) {
      const { keyId: id } = await key();
      const raw = data.length <= KMS_RAW_LIMIT;
      const reply = await client.send(
        new SignCommand({
          KeyId: keyId,
          Message: raw ? data : createHash('sha256').update(data).digest(),
          MessageType: raw ? 'RAW' : 'DIGEST',
          SigningAlgorithm: KMS_SIGNING_ALGORITHM
        })
      );
      if (!reply.Signature) throw new Error(`KMS returned no signature for ${keyId}`);
      return { keyId: id, signature: Buffer.from(reply.Signature) };
    }
  };
}

/**
 * sha256 (hex) of `git archive --format=tar <commit>` in `repo`: the digest of
 * the exact tree that was scanned (recorded as a second subject digest; the
 * installer checks the commit id, which git's own hashing binds to that tree).
 */
export function archiveSha256(repo: string, commit: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    const child = spawn('git', ['archive', '--format=tar', commit], {
      cwd: repo,
      env: { ...process.env, ...GIT_ENV },
      stdio: ['ignore', 'pipe', 'pipe']
    });
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => hash.update(chunk));
    child.stderr.on('data', chunk => (stderr += String(chunk)));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve(hash.digest('hex'))
        : reject(new Error(`git archive failed: ${stderr.trim()}`))
    );
  });
}

/** The statement of one decided item (`archiveSha256`: digest of `git archive <commit>`). */
export function statementFor(
  item: IManifestItem,
  executionId: string,
  extra: { archiveSha256?: string; policy?: Record<string, unknown>; waivers?: string[] } = {}
): IStatement {
  const r = item.request;
  const digest: Record<string, string> = {};
  if (item.commitSha) digest.gitCommit = item.commitSha;
  if (extra.archiveSha256) digest.sha256 = extra.archiveSha256;
  return {
    _type: STATEMENT_TYPE,
    subject: [
      {
        name: r.package_name,
        ...(item.privateRepoUrl ? { uri: item.privateRepoUrl } : {}),
        digest
      }
    ],
    predicateType: PREDICATE_TYPE,
    predicate: {
      decision: item.decision ?? 'error',
      requestId: r.request_id,
      packageName: r.package_name,
      repoUrl: r.repo_url,
      ref: r.ref,
      commitSha: item.commitSha ?? '',
      privateRepoUrl: item.decision === 'approved' ? (item.privateRepoUrl ?? '') : '',
      scannedAt: item.scannedAt ?? '',
      executionId,
      reason: item.reason ?? '',
      maxSeverity: item.maxSeverity ?? '',
      counts: { ...(item.counts ?? { critical: 0, high: 0, medium: 0, low: 0 }) },
      scanners: (item.scanners ?? []).map(s => ({
        name: s.name,
        status: s.status,
        ...(s.message ? { message: s.message.slice(0, 300) } : {})
      })),
      policy: extra.policy ?? {},
      waivers: extra.waivers ?? []
    }
  };
}

/** Sign a statement into a DSSE envelope. */
export async function signStatement(statement: IStatement, signer: ISigner): Promise<IEnvelope> {
  const payload = Buffer.from(JSON.stringify(statement), 'utf8');
  const { keyId, signature } = await signer.sign(dsse.preAuthEncoding(PAYLOAD_TYPE, payload));
  return {
    payloadType: PAYLOAD_TYPE,
    payload: payload.toString('base64'),
    signatures: [{ keyid: keyId, sig: signature.toString('base64') }]
  };
}

export class AttestationError extends Error {}

/** Verify an envelope against a trusted public key (PEM); returns its statement. */
export function verifyEnvelope(envelope: IEnvelope, publicKeyPem: string): IStatement {
  if (envelope?.payloadType !== PAYLOAD_TYPE || typeof envelope.payload !== 'string') {
    throw new AttestationError('not an in-toto DSSE envelope');
  }
  const publicKey = createPublicKey(publicKeyPem);
  // Ed25519 (the embedded workspace) signs the PAE itself; P-256 (KMS) its SHA-256, DER-encoded.
  const details = publicKey.asymmetricKeyDetails;
  const algorithm =
    publicKey.asymmetricKeyType === 'ed25519'
      ? null
      : publicKey.asymmetricKeyType === 'ec' && details?.namedCurve === 'prime256v1'
        ? 'sha256'
        : undefined;
  if (algorithm === undefined) {
    throw new AttestationError('the trusted key is neither Ed25519 nor ECDSA P-256');
  }
  const keyId = keyIdOf(publicKey);
  const payload = Buffer.from(envelope.payload, 'base64');
  const pae = dsse.preAuthEncoding(envelope.payloadType, payload);
  const ok = (envelope.signatures ?? []).some(
    s => s.keyid === keyId && cryptoVerify(algorithm, pae, publicKey, Buffer.from(s.sig, 'base64'))
  );
  if (!ok) {
    throw new AttestationError('no signature verifies with the trusted pipeline key');
  }
  const statement = JSON.parse(payload.toString('utf8')) as IStatement;
  if (statement._type !== STATEMENT_TYPE || statement.predicateType !== PREDICATE_TYPE) {
    throw new AttestationError('not a RepoGuard decision statement');
  }
  return statement;
}
