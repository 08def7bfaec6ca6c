import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { MailIdentity } from '../constructs/mail-identity';

export interface NotificationStackProps extends StackProps {
  /** Physical name prefix. */
  readonly prefix: string;
  /** SES identity: a domain or an address. */
  readonly identity: string;
  /** The only From address the pipeline may use. */
  readonly mailFrom: string;
  /**
   * Account of the pipeline when it is not this stack's account. A role named
   * `<prefix>-mail-sender` is then created that only the finish stage's role of
   * that account may assume, allowed to send only from the identity.
   * @default - same account: the pipeline stack grants its finish role directly
   */
  readonly pipelineAccount?: string;
}

/** SES: the email identity and configuration set of RepoGuard's notifications. */
export class NotificationStack extends Stack {
  public readonly mail: MailIdentity;
  /** Role the pipeline assumes to send, when it lives in another account. */
  public readonly senderRole?: iam.Role;

  constructor(scope: Construct, id: string, props: NotificationStackProps) {
    super(scope, id, props);
    this.mail = new MailIdentity(this, 'Mail', {
      prefix: props.prefix,
      identity: props.identity,
      mailFrom: props.mailFrom
    });

    if (props.pipelineAccount && props.pipelineAccount !== this.account) {
      const finishRoleArn = `arn:${this.partition}:iam::${props.pipelineAccount}:role/${props.prefix}-finish-stage`;
      this.senderRole = new iam.Role(this, 'SenderRole', {
        roleName: `${props.prefix}-mail-sender`,
        description:
          'Assumed by the RepoGuard finish stage of the pipeline account to send notifications',
        assumedBy: new iam.AccountPrincipal(props.pipelineAccount).withConditions({
          ArnEquals: { 'aws:PrincipalArn': finishRoleArn }
        })
      });
      this.senderRole.addToPolicy(this.mail.sendStatement());
      new CfnOutput(this, 'SenderRoleArn', { value: this.senderRole.roleArn });
    }

    new CfnOutput(this, 'IdentityArn', { value: this.mail.identityArn });
    new CfnOutput(this, 'ConfigurationSetName', { value: this.mail.configurationSetName });
  }
}
