import { ConfigError, DEFAULTS, loadConfig } from '../lib/config';

const ctx = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

describe('loadConfig', () => {
  test('no context: documented example defaults, environment-agnostic, no lookups needed', () => {
    const config = loadConfig(ctx({}));
    expect(config).toMatchObject({
      prefix: DEFAULTS.prefix,
      trigger: 'codeconnections',
      requestFile: 'external-package-request.csv',
      enableStudio: false,
      logRetentionDays: 90,
      network: { account: undefined, region: undefined }
    });
    expect(config.availabilityZones).toBeUndefined();
  });

  test('a region without zones gets <region>a and <region>b (no AZ lookup)', () => {
    expect(
      loadConfig(ctx({ networkRegion: 'eu-west-1', pipelineRegion: 'eu-west-1' })).availabilityZones
    ).toEqual(['eu-west-1a', 'eu-west-1b']);
  });

  test('CLI strings are parsed (booleans, lists, numbers)', () => {
    const config = loadConfig(
      ctx({ enableStudio: 'true', availabilityZones: 'x-1a, x-1b', logRetentionDays: '30' })
    );
    expect(config.enableStudio).toBe(true);
    expect(config.availabilityZones).toEqual(['x-1a', 'x-1b']);
    expect(config.logRetentionDays).toBe(30);
  });

  test.each([
    [{ pipelineAccount: '12' }, /12-digit/],
    [{ trigger: 'poll' }, /codeconnections/],
    [{ logRetentionDays: 42 }, /logRetentionDays/],
    [{ mailFrom: 'x@other.org' }, /belong to "sesIdentity"/],
    [{ requestRepo: 'no-slash' }, /owner\/name/],
    [{ pipelineAccount: '222222222222' }, /sharedVpcId/],
    [{ networkRegion: 'eu-west-1', pipelineRegion: 'us-east-1' }, /must equal/],
    [{ notificationAccount: '333333333333' }, /pipelineAccount/]
  ])('rejects %j', (values, message) => {
    expect(() => loadConfig(ctx(values))).toThrow(ConfigError);
    expect(() => loadConfig(ctx(values))).toThrow(message);
  });
});
