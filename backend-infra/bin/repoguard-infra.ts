#!/usr/bin/env node
/**
 * The RepoGuard CDK app: typed configuration from context, then the stacks,
 * then the cdk-nag AwsSolutions pack (in `buildRepoGuardApp`).
 * Compiled by `npm run build` to dist/backend-infra/bin/repoguard-infra.js,
 * which cdk.json runs; see README.md.
 */
import { App } from 'aws-cdk-lib';
import { buildRepoGuardApp } from '../lib/app';
import { loadConfig } from '../lib/config';

const app = new App();
buildRepoGuardApp(app, loadConfig(app.node));
app.synth();
