import type { IConstruct } from 'constructs';

/**
 * Records checkov skips on a construct's CloudFormation resource, next to the
 * resource like the cdk-nag acknowledgements; checkov reads
 * `Metadata.checkov.skip` from the template.
 */
export function skipCheckov(construct: IConstruct, skips: Array<[string, string]>): void {
  const resource = (construct.node.defaultChild ?? construct) as {
    addMetadata?: (k: string, v: unknown) => void;
    getMetadata?: (k: string) => unknown;
  };
  if (!resource.addMetadata || !resource.getMetadata) {
    throw new Error(`skipCheckov: ${construct.node.path} has no CloudFormation resource`);
  }
  const existing =
    (
      resource.getMetadata('checkov') as
        { skip?: Array<{ id: string; comment: string }> } | undefined
    )?.skip ?? [];
  resource.addMetadata('checkov', {
    skip: [...existing, ...skips.map(([id, comment]) => ({ id, comment }))]
  });
}
