/** Intrinsic functions resolved as a deployment would (tests of the synthesized contract; also run by the Python test). */
/* eslint-disable @typescript-eslint/no-explicit-any */
/** Resolve the intrinsic functions a deployed template would: refs become readable placeholders. */
export function resolveIntrinsics(value: any): any {
  if (Array.isArray(value)) return value.map(resolveIntrinsics);
  if (value && typeof value === 'object') {
    const [key] = Object.keys(value);
    const arg = value[key];
    if (key === 'Ref')
      return arg === 'AWS::Region'
        ? 'eu-west-1'
        : arg === 'AWS::AccountId'
          ? '123456789012'
          : arg === 'AWS::Partition'
            ? 'aws'
            : arg === 'AWS::URLSuffix'
              ? 'amazonaws.com'
              : `ref-${arg.toLowerCase()}`;
    if (key === 'Fn::GetAtt') return `arn:aws:s3:::${String(arg[0]).toLowerCase()}`;
    if (key === 'Fn::ImportValue')
      return `import-${String(resolveIntrinsics(arg))
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-')}`;
    if (key === 'Fn::Join') return resolveIntrinsics(arg[1]).join(arg[0]);
    if (key === 'Fn::Base64') return resolveIntrinsics(arg);
    if (key === 'Fn::Select') return resolveIntrinsics(arg[1])[arg[0]];
    if (key === 'Fn::Split') return String(resolveIntrinsics(arg[1])).split(arg[0]);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveIntrinsics(v)]));
  }
  return value;
}
