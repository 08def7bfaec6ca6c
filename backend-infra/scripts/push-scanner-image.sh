#!/usr/bin/env bash
# Builds docker/scanner.Dockerfile and pushes it to the pipeline stack's ECR
# repository as <prefix>-scanner:<tag> (tags are immutable: bump the tag and
# deploy with -c scannerImageTag=<tag>). Needs Docker and AWS credentials of
# the pipeline account; not used by the tests.
#   usage: scripts/push-scanner-image.sh <account> <region> [tag] [prefix]
set -euo pipefail
account="${1:?account}"; region="${2:?region}"; tag="${3:-0.1.0}"; prefix="${4:-repoguard}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
registry="${account}.dkr.ecr.${region}.amazonaws.com"
image="${registry}/${prefix}-scanner:${tag}"
aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
docker build -f "$root/backend-infra/docker/scanner.Dockerfile" -t "$image" "$root"
docker push "$image"
echo "pushed $image"
