/**
 * The GitHub token: env GITHUB_TOKEN, else the Secrets Manager secret named by
 * REPOGUARD_GITHUB_TOKEN_SECRET_ARN (a plain string, or JSON with a `token`
 * key). It is registered with the redactor before it is returned, so it never
 * appears in any log line or error message.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { registerSecret } from '../../redact';

export async function githubToken(
  env: NodeJS.ProcessEnv,
  client: SecretsManagerClient = new SecretsManagerClient({ maxAttempts: 4 })
): Promise<string> {
  if (env.GITHUB_TOKEN) {
    registerSecret(env.GITHUB_TOKEN);
    return env.GITHUB_TOKEN;
  }
  const arn = env.REPOGUARD_GITHUB_TOKEN_SECRET_ARN;
  if (!arn) {
    throw new Error('no GitHub token: set REPOGUARD_GITHUB_TOKEN_SECRET_ARN (or GITHUB_TOKEN)');
  }
  const answer = await client.send(new GetSecretValueCommand({ SecretId: arn }));
  const raw = answer.SecretString ?? '';
  let token = raw.trim();
  if (token.startsWith('{')) {
    const parsed = JSON.parse(token) as Record<string, unknown>;
    token = String(parsed.token ?? parsed.GITHUB_TOKEN ?? parsed.githubToken ?? '');
  }
  if (!token) {
    throw new Error(`secret ${arn} holds no token`);
  }
  registerSecret(token);
  return token;
}

/** git environment that sends the token as a header to `url`'s host only (never in argv or URLs). */
export function gitAuthEnv(url: string, token: string): NodeJS.ProcessEnv {
  const origin = new URL(url).origin + '/';
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${origin}.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`
  };
}
