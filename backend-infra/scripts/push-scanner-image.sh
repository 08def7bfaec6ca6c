#!/usr/bin/env bash
# Builds docker/scanner.Dockerfile and pushes it to the pipeline stack's ECR
# repository (its name is generated: read from the stack output
# ScannerRepositoryUri) as <tag> (tags are immutable: bump the tag and deploy
# with -c scannerImageTag=<tag>). Needs Docker and AWS credentials of the
# pipeline account; not used by the tests (scripts/assemble-scanner-image.sh
# assembles the same tool set without Docker).
#   usage: scripts/push-scanner-image.sh <account> <region> [tag] [stack]
set -euo pipefail
account="${1:?account}"; region="${2:?region}"; tag="${3:-0.1.0}"; stack="${4:-RepoGuardPipeline}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
registry="${account}.dkr.ecr.${region}.amazonaws.com"
repository="$(aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
  --query "Stacks[0].Outputs[?OutputKey=='ScannerRepositoryUri'].OutputValue" --output text)"
[ -n "$repository" ] && [ "$repository" != "None" ] || { echo "no ScannerRepositoryUri output on $stack" >&2; exit 2; }
image="${repository}:${tag}"
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
docker build -f "$root/backend-infra/docker/scanner.Dockerfile" -t "$image" "$root"
docker push "$image"
echo "pushed $image"
