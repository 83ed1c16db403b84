/**
 * Configuration: environment variables (names fixed by PROTOCOL.md) over an optional JSON file
 * (`MODGATE_CONFIG`), validated once with zod at start-up and frozen. A bad value is a ConfigError
 * whose message names the setting, so `npm start` exits with something a human can act on.
 */
import { readFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_TEXT } from './protocol.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const limitsSchema = z.strictObject({
  /** Largest WebSocket frame / socket.io packet. A base64 1 MiB image is ~1.37 MB, plus JSON. */
  maxFrameBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(1_500_000),
  maxTextChars: z.number().int().min(1).max(DEFAULT_MAX_TEXT).default(DEFAULT_MAX_TEXT),
  maxImageBytes: z.number().int().min(1024).max(DEFAULT_MAX_IMAGE_BYTES).default(DEFAULT_MAX_IMAGE_BYTES),
  /**
   * Bytes queued to one client before it counts as a slow reader and is disconnected. 1 MiB holds
   * ~10k chat messages: far more than a healthy client ever lags, small enough that 10k stuck
   * clients cannot exhaust memory.
   */
  maxBackpressureBytes: z.number().int().min(16 * 1024).default(1024 * 1024),
  /** Seconds without any traffic (pings included) before a connection is closed. */
  idleTimeoutSec: z.number().int().min(8).max(960).default(120),
  /**
   * Hard flood limit per connection: a token bucket. A client over it is abusive and is closed
   * (rate limits that merely refuse messages belong to the spam filter). 30/s sustained with a
   * burst of 60 is well above any human and above well-behaved bots.
   */
  floodRatePerSec: z.number().min(1).max(100_000).default(30),
  floodBurst: z.number().int().min(1).max(1_000_000).default(60),
  /** Rooms one connection may be in at once. */
  maxRoomsPerConnection: z.number().int().min(1).max(10_000).default(50),
  /** Users one user may block. */
  maxBlocks: z.number().int().min(0).max(100_000).default(1000),
  /**
   * Bans, suspensions and stream kills one moderator may issue per minute. 30 covers a moderator
   * cleaning up a raid by hand; scripted mass actions belong to the policy and the hash banks.
   */
  highImpactPerMinute: z.number().int().min(1).max(100_000).default(30),
});

const filterSettingsSchema = z.strictObject({
  name: z.string().min(1).max(64),
  /** Longest this filter may take per message (it also gets no more than the budget left). */
  timeoutMs: z.number().positive().max(60_000).optional(),
  /** What happens to the message when the filter throws or runs out of time. */
  onFailure: z.enum(['pass', 'hold', 'drop']).optional(),
  /** Record findings, never enforce: try a filter on live traffic first. */
  shadow: z.boolean().optional(),
  enabled: z.boolean().optional(),
});
export type FilterSettings = z.infer<typeof filterSettingsSchema>;

const pipelineSchema = z.strictObject({
  /** Per-message latency budget for the whole moderation pipeline, by message kind. */
  budgetMs: z
    .strictObject({ text: z.number().positive().max(10_000).default(10), image: z.number().positive().max(60_000).default(150) })
    .prefault({}),
  /** Filters in the order they run; absent = the built-in order with each filter's own settings. */
  filters: z.array(filterSettingsSchema).max(32).optional(),
});

const mediaServerSchema = z.strictObject({
  /**
   * Called when a stream is killed, to drop the publisher: a URL template with {streamId} and
   * {room}, e.g. MediaMTX `http://mediamtx:9997/v3/rtmpconns/kick/{streamId}` or nginx-rtmp
   * `http://nginx/control/drop/publisher?app=live&name={streamId}`.
   */
  dropUrl: z.string().regex(/^https?:\/\//, 'must be an http(s) URL template').optional(),
  method: z.enum(['GET', 'POST', 'DELETE']).default('POST'),
  timeoutMs: z.number().int().min(100).max(30_000).default(2000),
});

const fileSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).optional(),
  host: z.string().min(1).optional(),
  redisUrl: z.string().optional(),
  jwtSecret: z.string().optional(),
  jwks: z.string().optional(),
  jwtIssuer: z.string().optional(),
  jwtAudience: z.string().optional(),
  jwtClockSkewSec: z.number().int().min(0).max(300).optional(),
  policyPath: z.string().optional(),
  outboxPath: z.string().optional(),
  logLevel: z.enum(LOG_LEVELS).optional(),
  nodeId: z.string().optional(),
  shutdownGraceMs: z.number().int().min(0).max(120_000).optional(),
  limits: limitsSchema.partial().optional(),
  pipeline: pipelineSchema.partial().optional(),
  mediaServer: mediaServerSchema.partial().optional(),
  /** Spam filter limits (filters/spam/limits.ts names them: userBurst, userPerSec, ...); validated by the filter. */
  spamLimits: z.record(z.string(), z.number()).optional(),
  imageWorkers: z.number().int().min(1).max(64).optional(),
});

const configSchema = z.strictObject({
  port: z.number().int().min(0).max(65535),
  host: z.string().min(1),
  redisUrl: z
    .string()
    .regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL')
    .optional(),
  jwtSecret: z.string().min(32, 'must be at least 32 characters (256 bits) for HS256').optional(),
  jwks: z.string().min(1).optional(),
  jwtIssuer: z.string().optional(),
  jwtAudience: z.string().optional(),
  /** Clock skew tolerated on exp/nbf: small, so a leaked expired token stays dead. */
  jwtClockSkewSec: z.number().int().min(0).max(300).default(30),
  policyPath: z.string().optional(),
  /** Where restrictive sanction writes wait while Redis is unreachable (JSON lines; survives restarts). */
  outboxPath: z.string().optional(),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  nodeId: z.string().min(1).max(64),
  shutdownGraceMs: z.number().int().min(0).max(120_000).default(5000),
  /** True when no key was configured and the gateway minted its own secret (`npm start` demo). */
  embedded: z.boolean(),
  limits: limitsSchema.prefault({}),
  pipeline: pipelineSchema.prefault({}),
  mediaServer: mediaServerSchema.prefault({}),
  spamLimits: z.record(z.string(), z.number()).optional(),
  /** Worker threads that decode and hash images (default: CPU cores − 1, at least 1). */
  imageWorkers: z.number().int().min(1).max(64).optional(),
});

export type Config = Readonly<z.infer<typeof configSchema>>;
export type ConfigInput = z.input<typeof fileSchema> & { embedded?: boolean };

/** Which env var feeds which setting: used to name the env var in errors. */
const ENV_NAMES: Record<string, string> = {
  port: 'PORT',
  host: 'HOST',
  redisUrl: 'REDIS_URL',
  jwtSecret: 'MODGATE_JWT_SECRET',
  jwks: 'MODGATE_JWKS',
  policyPath: 'MODGATE_POLICY',
  logLevel: 'LOG_LEVEL',
  nodeId: 'MODGATE_NODE_ID',
  outboxPath: 'MODGATE_OUTBOX',
};

function formatIssues(error: z.ZodError, fromEnv: Set<string>): string {
  return error.issues
    .map((i) => {
      const path = i.path.join('.');
      const top = String(i.path[0] ?? '');
      const where = fromEnv.has(top) && ENV_NAMES[top] ? `${ENV_NAMES[top]} (${path})` : path || '(root)';
      return `${where}: ${i.message}`;
    })
    .join('; ');
}

function parsePort(raw: string): number | string {
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

/**
 * Build the configuration from `env` (and the file `MODGATE_CONFIG` names, if any), with
 * `overrides` on top (tests and embedding). Throws ConfigError naming the bad setting.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigInput = {}): Config {
  let file: z.infer<typeof fileSchema> = {};
  if (env.MODGATE_CONFIG) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(env.MODGATE_CONFIG, 'utf8'));
    } catch (e) {
      throw new ConfigError(`MODGATE_CONFIG: cannot read ${env.MODGATE_CONFIG}: ${(e as Error).message}`);
    }
    const parsed = fileSchema.safeParse(raw);
    if (!parsed.success) throw new ConfigError(`MODGATE_CONFIG (${env.MODGATE_CONFIG}): ${formatIssues(parsed.error, new Set())}`);
    file = parsed.data;
  }

  const fromEnv = new Set<string>();
  const envValue = (key: string): string | undefined => {
    const name = ENV_NAMES[key]!;
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    fromEnv.add(key);
    return v;
  };
  const portRaw = envValue('port');
  const jwtSecret = overrides.jwtSecret ?? envValue('jwtSecret') ?? file.jwtSecret;
  const jwks = overrides.jwks ?? envValue('jwks') ?? file.jwks;
  const embedded = overrides.embedded ?? (!jwtSecret && !jwks);
  const host = overrides.host ?? envValue('host') ?? file.host ?? (embedded ? '127.0.0.1' : '0.0.0.0');

  const candidate = {
    port: overrides.port ?? (portRaw !== undefined ? parsePort(portRaw) : undefined) ?? file.port ?? 8080,
    host,
    redisUrl: overrides.redisUrl ?? envValue('redisUrl') ?? file.redisUrl,
    jwtSecret: jwtSecret ?? (embedded ? randomBytes(32).toString('base64url') : undefined),
    jwks,
    jwtIssuer: overrides.jwtIssuer ?? file.jwtIssuer,
    jwtAudience: overrides.jwtAudience ?? file.jwtAudience,
    jwtClockSkewSec: overrides.jwtClockSkewSec ?? file.jwtClockSkewSec,
    policyPath: overrides.policyPath ?? envValue('policyPath') ?? file.policyPath,
    outboxPath: overrides.outboxPath ?? envValue('outboxPath') ?? file.outboxPath,
    logLevel: overrides.logLevel ?? envValue('logLevel') ?? file.logLevel,
    nodeId: overrides.nodeId ?? envValue('nodeId') ?? file.nodeId ?? randomUUID().slice(0, 8),
    shutdownGraceMs: overrides.shutdownGraceMs ?? file.shutdownGraceMs,
    embedded,
    limits: { ...file.limits, ...overrides.limits },
    pipeline: { ...file.pipeline, ...overrides.pipeline },
    mediaServer: { ...file.mediaServer, ...overrides.mediaServer },
    ...(file.spamLimits || overrides.spamLimits ? { spamLimits: { ...file.spamLimits, ...overrides.spamLimits } } : {}),
    ...((overrides.imageWorkers ?? file.imageWorkers) !== undefined ? { imageWorkers: overrides.imageWorkers ?? file.imageWorkers } : {}),
  };
  const parsed = configSchema.safeParse(candidate);
  if (!parsed.success) throw new ConfigError(formatIssues(parsed.error, fromEnv));
  const config = parsed.data;
  if (config.embedded && !isLoopback(config.host)) {
    throw new ConfigError(
      `HOST (host): ${config.host} is not a loopback address; the embedded default mints its own key and ` +
        'prints tokens, so it only listens on 127.0.0.1. Set MODGATE_JWT_SECRET or MODGATE_JWKS to listen elsewhere.',
    );
  }
  return deepFreeze(config);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}
