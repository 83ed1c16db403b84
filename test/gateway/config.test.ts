import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../gateway/config.ts';

const SECRET = 'x'.repeat(40);

describe('config', () => {
  it('embedded default: no key means a generated secret, loopback only', () => {
    const c = loadConfig({});
    expect(c.embedded).toBe(true);
    expect(c.host).toBe('127.0.0.1');
    expect(c.port).toBe(8080);
    expect(c.jwtSecret!.length).toBeGreaterThanOrEqual(32);
    expect(Object.isFrozen(c) && Object.isFrozen(c.limits)).toBe(true);
  });

  it('refuses a non-loopback HOST in embedded mode', () => {
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST.*MODGATE_JWT_SECRET/);
  });

  it('with a key: binds all interfaces by default and reads the fixed env names', () => {
    const c = loadConfig({ MODGATE_JWT_SECRET: SECRET, PORT: '9000', REDIS_URL: 'redis://h:1', LOG_LEVEL: 'warn' });
    expect(c).toMatchObject({ embedded: false, host: '0.0.0.0', port: 9000, redisUrl: 'redis://h:1', logLevel: 'warn' });
  });

  it.each([
    [{ PORT: 'eighty' }, /PORT \(port\)/],
    [{ PORT: '70000' }, /PORT \(port\)/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL \(logLevel\)/],
    [{ REDIS_URL: 'http://x' }, /REDIS_URL \(redisUrl\): must be a redis/],
    [{ MODGATE_JWT_SECRET: 'short' }, /MODGATE_JWT_SECRET \(jwtSecret\): must be at least 32/],
  ])('names the bad setting: %j', (env, re) => {
    expect(() => loadConfig({ MODGATE_JWT_SECRET: SECRET, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ MODGATE_JWT_SECRET: SECRET, ...env })).toThrow(re);
  });

  it('reads a JSON file and names bad paths inside it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'modgate-cfg-'));
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify({ limits: { floodRatePerSec: 5 }, pipeline: { budgetMs: { text: 3 } } }));
    const c = loadConfig({ MODGATE_JWT_SECRET: SECRET, MODGATE_CONFIG: good });
    expect(c.limits.floodRatePerSec).toBe(5);
    expect(c.limits.floodBurst).toBe(60);
    expect(c.pipeline.budgetMs).toEqual({ text: 3, image: 150 });
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ limits: { floodBurst: -1 } }));
    expect(() => loadConfig({ MODGATE_JWT_SECRET: SECRET, MODGATE_CONFIG: bad })).toThrow(/limits\.floodBurst/);
    writeFileSync(bad, JSON.stringify({ limitz: {} }));
    expect(() => loadConfig({ MODGATE_JWT_SECRET: SECRET, MODGATE_CONFIG: bad })).toThrow(/limitz/);
    expect(() => loadConfig({ MODGATE_CONFIG: join(dir, 'missing.json') })).toThrow(/MODGATE_CONFIG: cannot read/);
  });

  it('takes the image worker count from the file, and refuses a count below one by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'modgate-cfg-'));
    const file = join(dir, 'workers.json');
    writeFileSync(file, JSON.stringify({ imageWorkers: 2 }));
    expect(loadConfig({ MODGATE_JWT_SECRET: SECRET, MODGATE_CONFIG: file }).imageWorkers).toBe(2);
    expect(loadConfig({ MODGATE_JWT_SECRET: SECRET }).imageWorkers).toBeUndefined();
    writeFileSync(file, JSON.stringify({ imageWorkers: 0 }));
    expect(() => loadConfig({ MODGATE_JWT_SECRET: SECRET, MODGATE_CONFIG: file })).toThrow(/imageWorkers/);
  });
});
