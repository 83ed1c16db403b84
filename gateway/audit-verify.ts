/**
 * `modgate audit verify`: read the whole audit stream page by page and check every node's hash
 * chain (gateway/audit.ts). Memory stays O(nodes): records are checked as they stream in.
 *
 * Exit codes: 0 every chain verifies, 1 a record is broken (printed with the reason), 2 usage error
 * or Redis unreachable.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { AUDIT_STREAM, ChainVerifier, readAuditStream, type Checkpoint } from './audit.ts';

export const AUDIT_VERIFY_USAGE = `usage: modgate audit verify [--redis URL] [--stream KEY] [--checkpoint FILE] [--save-checkpoint FILE]
  --redis URL              Redis holding the audit log (default: $REDIS_URL)
  --stream KEY             stream key (default: ${AUDIT_STREAM})
  --checkpoint FILE        also check against a checkpoint saved earlier: detects a truncated tail
  --save-checkpoint FILE   when the chains verify, write each node's last {seq, hash} to FILE
exit status: 0 ok, 1 a record is broken, 2 usage error or Redis unreachable`;

export interface VerifyIO {
  out(s: string): void;
  err(s: string): void;
}

const stdio: VerifyIO = {
  out: (s) => void process.stdout.write(s),
  err: (s) => void process.stderr.write(s),
};

/** Reading a million entries takes a while; a single page must not. */
const COMMAND_TIMEOUT_MS = 30_000;
const CONNECT_TIMEOUT_MS = 5000;

/** Hide a password in a URL before printing it. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

function readCheckpoint(file: string): Checkpoint {
  const doc = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  // Either the file --save-checkpoint writes ({ heads, ... }) or a bare node → {seq, hash} map.
  const heads = (doc && typeof doc === 'object' && 'heads' in doc ? (doc as { heads: unknown }).heads : doc) as unknown;
  if (!heads || typeof heads !== 'object') throw new Error('not a checkpoint');
  const out: Checkpoint = {};
  for (const [node, v] of Object.entries(heads as Record<string, unknown>)) {
    const h = v as { seq?: unknown; hash?: unknown };
    if (!h || typeof h.seq !== 'number' || !Number.isSafeInteger(h.seq) || typeof h.hash !== 'string') throw new Error(`bad entry for node ${node}`);
    out[node] = { seq: h.seq, hash: h.hash };
  }
  return out;
}

/**
 * `argv`: the arguments after `modgate audit verify` (a leading `verify` is accepted too).
 * `io`: where to print (tests); stdout/stderr by default.
 */
export async function auditVerifyCommand(argv: string[], env: NodeJS.ProcessEnv = process.env, io: VerifyIO = stdio): Promise<number> {
  let values: { redis?: string; stream?: string; checkpoint?: string; 'save-checkpoint'?: string; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: {
        redis: { type: 'string' },
        stream: { type: 'string' },
        checkpoint: { type: 'string' },
        'save-checkpoint': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (e) {
    io.err(`modgate audit verify: ${(e as Error).message}\n${AUDIT_VERIFY_USAGE}\n`);
    return 2;
  }
  if (values.help) {
    io.out(AUDIT_VERIFY_USAGE + '\n');
    return 0;
  }
  if (positionals.length > 1 || (positionals.length === 1 && positionals[0] !== 'verify')) {
    io.err(`modgate audit verify: unexpected argument ${positionals.find((p) => p !== 'verify')}\n${AUDIT_VERIFY_USAGE}\n`);
    return 2;
  }
  const url = values.redis ?? env.REDIS_URL;
  if (!url) {
    io.err(`modgate audit verify: no Redis: set REDIS_URL or pass --redis URL\n${AUDIT_VERIFY_USAGE}\n`);
    return 2;
  }
  let against: Checkpoint | undefined;
  if (values.checkpoint) {
    try {
      against = readCheckpoint(values.checkpoint);
    } catch (e) {
      io.err(`modgate audit verify: cannot read checkpoint ${values.checkpoint}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const stream = values.stream ?? AUDIT_STREAM;

  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    // A command-line tool reports an unreachable Redis instead of retrying forever.
    retryStrategy: () => null,
    connectionName: 'modgate-audit-verify',
  });
  let lastError = '';
  redis.on('error', (e: Error) => (lastError = e.message));
  try {
    try {
      await redis.connect();
    } catch (e) {
      io.err(`modgate audit verify: cannot reach Redis at ${safeUrl(url)}: ${lastError || (e as Error).message}\n`);
      return 2;
    }
    const v = new ChainVerifier(against);
    try {
      for await (const page of readAuditStream(redis, stream)) {
        for (const { streamId, record } of page) {
          const bad = v.add(record, streamId);
          if (bad) {
            const r = record as { node?: unknown; seq?: unknown } | undefined;
            const where = r && typeof r === 'object' ? `, node ${String(r.node)}, seq ${String(r.seq)}` : '';
            io.out(`broken: record ${bad.brokenAt} (stream id ${streamId}${where}): ${bad.reason}\n`);
            io.out(`${v.result().checked} records verified before it\n`);
            return 1;
          }
        }
      }
    } catch (e) {
      io.err(`modgate audit verify: reading ${stream} failed: ${(e as Error).message}\n`);
      return 2;
    }
    const res = v.result();
    if (!res.ok) {
      io.out(`broken: ${res.brokenAt}: ${res.reason}\n`);
      return 1;
    }
    io.out(`ok: ${res.checked} records, ${res.chains} chains\n`);
    for (const [node, h] of Object.entries(res.heads)) io.out(`  ${node}: last seq ${h.seq} ${h.hash}\n`);
    if (values['save-checkpoint']) {
      const doc = { stream, createdAt: new Date().toISOString(), records: res.checked, heads: res.heads };
      try {
        writeFileSync(values['save-checkpoint'], JSON.stringify(doc, null, 2) + '\n');
      } catch (e) {
        io.err(`modgate audit verify: cannot write checkpoint: ${(e as Error).message}\n`);
        return 2;
      }
      io.out(`checkpoint written to ${values['save-checkpoint']}\n`);
    }
    return 0;
  } finally {
    redis.disconnect();
  }
}
