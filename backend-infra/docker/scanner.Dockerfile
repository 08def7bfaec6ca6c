# syntax=docker/dockerfile:1
# The RepoGuard scanner image: the CodeBuild stages run `repoguard-pipeline`
# (ingest, scan, finish) in it. Node 20 + Python 3.11, the pinned scanners,
# git, bubblewrap (network-less sandbox of the dynamic scan) and strace.
#
# Build from the repository root (the stage code imports src/common):
#   docker build -f backend-infra/docker/scanner.Dockerfile -t repoguard-scanner:0.1.0 .
# Push to the pipeline stack's ECR repository: backend-infra/scripts/push-scanner-image.sh
# Scanner pins live in scripts/install-scanners.sh, shared with the test command.

FROM node:20-bookworm-slim AS node
FROM golang:1.26-bookworm AS go

FROM node AS build
WORKDIR /build
COPY backend-infra/package.json backend-infra/package-lock.json backend-infra/
RUN cd backend-infra && npm ci --no-audit --no-fund --ignore-scripts
COPY src/common src/common
COPY backend-infra/tsconfig.json backend-infra/
COPY backend-infra/pipeline backend-infra/pipeline
RUN cd backend-infra \
 && npx tsc -p tsconfig.json \
 && npm prune --omit=dev --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends git bubblewrap strace ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY scripts/install-scanners.sh scripts/install-sandbox-python.sh scripts/osv-db.py scripts/gitleaks-config.py /opt/repoguard/scripts/
COPY backend-infra/pipeline/advisories /opt/repoguard/backend-infra/pipeline/advisories
# The pinned scanner configurations (read by the adapters; gitleaks' is generated from gitleaks-paths.toml).
COPY backend-infra/pipeline/scanner-config /opt/repoguard/backend-infra/pipeline/scanner-config
# The image carries OSV's live offline database of its build day (dated in SOURCE.json).
RUN --mount=type=bind,from=go,source=/usr/local/go,target=/usr/local/go \
    PATH=/usr/local/go/bin:$PATH REPOGUARD_TOOLS=/opt/repoguard/tools REPOGUARD_OSV_DOWNLOAD=required \
    bash /opt/repoguard/scripts/install-scanners.sh \
 && rm -rf /root/go /root/.cache
ENV PATH=/opt/repoguard/tools/bin:$PATH
# node and npm (the dynamic scan installs npm packages with npm in the sandbox)
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx
COPY --from=build /build/backend-infra/package.json /opt/repoguard/backend-infra/package.json
COPY --from=build /build/backend-infra/node_modules /opt/repoguard/backend-infra/node_modules
COPY --from=build /build/backend-infra/dist /opt/repoguard/backend-infra/dist
COPY --from=build /build/backend-infra/pipeline/bin /opt/repoguard/backend-infra/pipeline/bin
COPY --from=build /build/backend-infra/pipeline/rules /opt/repoguard/backend-infra/pipeline/rules
COPY --from=build /build/backend-infra/pipeline/data /opt/repoguard/backend-infra/pipeline/data
RUN ln -s /opt/repoguard/backend-infra/pipeline/bin/repoguard-pipeline.js /usr/local/bin/repoguard-pipeline \
 && node --version && npm --version && python3 --version && semgrep --version && bandit --version \
 && guarddog --version && gitleaks version && osv-scanner --version && checkov --version \
 && git --version && bwrap --version && strace -V && picklescan --help >/dev/null
# CodeBuild runs builds as root in the container; the stage code drops into
# bubblewrap for anything that executes untrusted code.
WORKDIR /workspace
