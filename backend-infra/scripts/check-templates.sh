#!/usr/bin/env bash
# Second validation: synthesize the CDK app with `cdk synth` (offline, no context,
# no lookups) and run checkov over the CloudFormation templates. A second synth
# covers the optional parts (Studio stack, GitHub webhook trigger, alert mail).
# checkov must be on PATH (pinned: checkov==3.3.30).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v checkov >/dev/null 2>&1; then
  echo "check-templates: checkov is not on PATH; install it with: pip install checkov==3.3.30" >&2
  exit 2
fi
export CDK_DISABLE_CLI_TELEMETRY=true
synth() { npx --no-install cdk synth --no-notices --no-version-reporting -q "$@"; }

npx --no-install tsc -p bin/tsconfig.json   # the CDK app only (bin/, lib/)
echo "== cdk synth (default context) -> cdk.out"
synth
variant="$(mktemp -d)"
trap 'rm -rf "$variant"' EXIT
echo "== cdk synth (enableStudio, webhook trigger, alert mail) -> $variant"
synth -o "$variant" -c enableStudio=true -c trigger=webhook -c alertEmail=infosec@example.com \
  -c githubTokenSecretArn=arn:aws:secretsmanager:eu-west-1:123456789012:secret:repoguard/github-token-AbCdEf

for dir in cdk.out "$variant"; do
  echo "== checkov $dir"
  checkov --config-file .checkov.yaml -d "$dir"
done
echo "check-templates: OK"
