import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as ses from 'aws-cdk-lib/aws-ses';
import { Construct } from 'constructs';

export interface MailIdentityProps {
  /** Physical name prefix (configuration set name). */
  readonly prefix: string;
  /** A domain (`example.com`, verified with Easy DKIM) or a single address. */
  readonly identity: string;
  /** The only From address the pipeline may use; it belongs to the identity. */
  readonly mailFrom: string;
}

/**
 * The SES email identity and configuration set the notify stage sends through.
 * `sendStatement()` is the only permission the pipeline gets: SendEmail /
 * SendRawEmail on this identity and configuration set, from one address.
 */
export class MailIdentity extends Construct {
  public readonly identity: ses.EmailIdentity;
  public readonly configurationSet: ses.ConfigurationSet;
  /** ARN computed from names, so that other stacks can use it without a cross-stack export. */
  public readonly identityArn: string;
  public readonly configurationSetArn: string;
  public readonly configurationSetName: string;
  public readonly mailFrom: string;

  constructor(scope: Construct, id: string, props: MailIdentityProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.mailFrom = props.mailFrom;
    this.configurationSetName = `${props.prefix}-mail`;

    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName: this.configurationSetName,
      tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
      reputationMetrics: true,
      sendingEnabled: true,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS
    });
    const isAddress = props.identity.includes('@');
    this.identity = new ses.EmailIdentity(this, 'Identity', {
      identity: isAddress
        ? ses.Identity.email(props.identity)
        : ses.Identity.domain(props.identity),
      configurationSet: this.configurationSet,
      ...(isAddress ? {} : { dkimSigning: true, dkimIdentity: ses.DkimIdentity.easyDkim() })
    });

    this.identityArn = stack.formatArn({
      service: 'ses',
      resource: 'identity',
      resourceName: props.identity
    });
    this.configurationSetArn = stack.formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: this.configurationSetName
    });
  }

  /** The send-only-from-this-identity statement. */
  public sendStatement(): iam.PolicyStatement {
    return MailIdentity.sendStatement(this.identityArn, this.configurationSetArn, this.mailFrom);
  }

  /** The same statement built from ARNs, for a pipeline in another stack or account. */
  public static sendStatement(
    identityArn: string,
    configurationSetArn: string,
    mailFrom: string
  ): iam.PolicyStatement {
    return new iam.PolicyStatement({
      sid: 'SendOnlyFromRepoGuardIdentity',
      actions: ['ses:SendEmail', 'ses:SendRawEmail'],
      resources: [identityArn, configurationSetArn],
      conditions: { StringEquals: { 'ses:FromAddress': mailFrom } }
    });
  }
}
