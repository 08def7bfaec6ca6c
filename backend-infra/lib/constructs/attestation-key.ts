import { RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { skipCheckov } from '../checkov';

export interface AttestationKeyProps {
  /** Physical name prefix (the alias is `alias/<prefix>-attestation`). */
  readonly prefix: string;
  /**
   * Names of the only roles that may sign: the stages that record decisions
   * (finish, the fan-out's per-request build, the re-scan). Fixed role
   * names, so the key policy can name them before the roles exist.
   */
  readonly signerRoleNames: readonly string[];
}

/** The alias of the attestation key (an alias ARN names it across accounts). */
export function attestationKeyAlias(prefix: string): string {
  return `alias/${prefix}-attestation`;
}

/**
 * The pipeline's attestation key: an asymmetric KMS key (ECC_NIST_P256,
 * SIGN_VERIFY; pipeline/src/attest.ts signs with ECDSA_SHA_256) whose private
 * half never leaves KMS. The key policy denies `kms:Sign` to every principal
 * but the signing stages' roles, whatever IAM policy anyone else holds (the
 * account's administrators included); `grantSign` gives those roles the
 * permission itself. Installers read the public key (`kms:GetPublicKey`,
 * granted to the Studio side in lib/deployment.ts) from the key ARN in the
 * deployment contract.
 */
export class AttestationKey extends Construct {
  public readonly key: kms.Key;
  public readonly alias: string;

  constructor(scope: Construct, id: string, props: AttestationKeyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.alias = attestationKeyAlias(props.prefix);
    this.key = new kms.Key(this, 'Key', {
      alias: this.alias,
      description:
        'RepoGuard attestations: signs each pipeline decision (in-toto/DSSE); only the signing stages may use it',
      keySpec: kms.KeySpec.ECC_NIST_P256,
      keyUsage: kms.KeyUsage.SIGN_VERIFY,
      removalPolicy: RemovalPolicy.RETAIN
    });
    const signers = props.signerRoleNames.map(
      name => `arn:${stack.partition}:iam::${stack.account}:role/${name}`
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'OnlyThePipelineSigns',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:Sign'],
        resources: ['*'],
        conditions: { ArnNotEquals: { 'aws:PrincipalArn': signers } }
      })
    );
    Validations.of(this.key).acknowledge({
      id: 'AwsSolutions-KMS5',
      reason:
        'KMS rotates symmetric keys only; an asymmetric signing key is replaced by a new key (and contract) instead.'
    });
    skipCheckov(this.key, [
      [
        'CKV_AWS_7',
        'KMS rotates symmetric keys only; an asymmetric signing key cannot have automatic rotation.'
      ]
    ]);
  }

  /** Let a signing stage sign (and read the public key it names in each envelope). */
  grantSign(role: iam.IGrantable): iam.Grant {
    return this.key.grant(role, 'kms:Sign', 'kms:GetPublicKey');
  }
}
