/**
 * Handshake authentication: JWTs verified with jose against a fixed set of algorithms (HS256 with
 * the shared secret; RS256/ES256 with a JWKS file or URL), exp/nbf with a small clock skew. The
 * identity a connection acts as comes only from here, never from payload fields.
 */
import { createHmac, createPublicKey, timingSafeEqual, verify as cryptoVerify, type JsonWebKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  SignJWT,
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors as joseErrors,
  jwtVerify,
  type JWTVerifyGetKey,
} from 'jose';
import type { Config } from './config.ts';
import { ConfigError } from './config.ts';
import { claimsSchema, zodIssues, type Identity, type Role } from './protocol.ts';

/** Tokens larger than this are refused unread: no legitimate modgate token comes close. */
export const MAX_TOKEN_CHARS = 8192;
const JWKS_ALGORITHMS = ['RS256', 'ES256'];

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    message: string,
    readonly code: 'unauthorized' = 'unauthorized',
  ) {
    super(message);
  }
}

export interface Authenticator {
  verify(token: string | undefined | null): Promise<Identity>;
  /**
   * The same decision without awaiting anything: an Identity, or throws AuthError — or ASYNC when
   * it cannot decide synchronously (a remote JWKS whose keys are not loaded yet, a header jose
   * must judge), in which case `verify` decides. HS256 and JWKS keys already in hand verify here
   * with node:crypto, so the raw door can upgrade inside uWS's upgrade callback (see raw-door.ts).
   */
  verifySync(token: string | undefined | null): Identity | typeof ASYNC;
}

const NO_ROOMS: readonly string[] = Object.freeze([]);
const DEFAULT_ROLES: readonly Role[] = Object.freeze(['user']);
/** Role sets are few: every identity with the same roles shares one frozen array. */
const roleSets = new Map<string, readonly Role[]>();

function internRoles(roles: Role[] | undefined): readonly Role[] {
  if (!roles?.length) return DEFAULT_ROLES;
  const key = roles.join(',');
  let shared = roleSets.get(key);
  // Bounded by the role enum's combinations; the cap only guards against surprises.
  if (!shared && roleSets.size < 256) roleSets.set(key, (shared = Object.freeze([...roles])));
  return shared ?? Object.freeze(roles);
}

/** verifySync's "cannot decide synchronously": ask `verify`. */
export const ASYNC = Symbol('async');

/** A JWKS key usable for synchronous verification. */
interface SyncKey {
  kid: string | undefined;
  alg: 'RS256' | 'ES256';
  key: KeyObject;
}

/** The keys of a JWKS document that can verify RS256/ES256 signatures (as jose would select them). */
function syncKeys(doc: unknown): SyncKey[] {
  const out: SyncKey[] = [];
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return out;
  for (const k of keys) {
    if (typeof k !== 'object' || k === null) continue;
    const jwk = k as { kty?: unknown; crv?: unknown; alg?: unknown; kid?: unknown; use?: unknown; key_ops?: unknown };
    if (jwk.use !== undefined && jwk.use !== 'sig') continue;
    if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) continue;
    const alg = jwk.kty === 'RSA' ? 'RS256' : jwk.kty === 'EC' && jwk.crv === 'P-256' ? 'ES256' : undefined;
    if (!alg || (jwk.alg !== undefined && jwk.alg !== alg)) continue;
    try {
      const key = createPublicKey({ key: k as JsonWebKey, format: 'jwk' });
      // jose refuses RSA keys under 2048 bits; so do we.
      if (alg === 'RS256' && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) continue;
      out.push({ kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, alg, key });
    } catch {
      // not a usable key: jose would skip it too
    }
  }
  return out;
}

function jsonPart(part: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const B64URL = /^[A-Za-z0-9_-]*$/;

export function createAuthenticator(config: Pick<Config, 'jwtSecret' | 'jwks' | 'jwtIssuer' | 'jwtAudience' | 'jwtClockSkewSec'>): Authenticator {
  const secret = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : undefined;
  let jwks: JWTVerifyGetKey | undefined;
  /** JWKS keys for verifySync: the file's, or the remote set's once jose has fetched it. */
  let keys: SyncKey[] = [];
  let remote: ReturnType<typeof createRemoteJWKSet> | undefined;
  if (config.jwks) {
    if (/^https?:\/\//.test(config.jwks)) {
      // Remote JWKS: jose caches keys and rate-limits refetches (cooldown) on unknown kids.
      remote = createRemoteJWKSet(new URL(config.jwks), { timeoutDuration: 2000, cooldownDuration: 30_000 });
      jwks = remote;
      // Fetch now, so the first handshakes can verify synchronously; failures retry on use.
      remote.reload().then(
        () => (keys = syncKeys(remote!.jwks())),
        () => {},
      );
    } else {
      try {
        const doc: unknown = JSON.parse(readFileSync(config.jwks, 'utf8'));
        jwks = createLocalJWKSet(doc as Parameters<typeof createLocalJWKSet>[0]);
        keys = syncKeys(doc);
      } catch (e) {
        throw new ConfigError(`MODGATE_JWKS (jwks): cannot load ${config.jwks}: ${(e as Error).message}`);
      }
    }
  }
  const common = {
    clockTolerance: config.jwtClockSkewSec,
    ...(config.jwtIssuer ? { issuer: config.jwtIssuer } : {}),
    ...(config.jwtAudience ? { audience: config.jwtAudience } : {}),
  };

  function identityOf(payload: unknown): Identity {
    const claims = claimsSchema.safeParse(payload);
    if (!claims.success) throw new AuthError(`token claims invalid: ${zodIssues(claims.error).join('; ')}`);
    const c = claims.data;
    return Object.freeze({
      id: c.sub,
      name: c.name ?? c.sub,
      roles: internRoles(c.roles),
      owns: c.owns?.length ? Object.freeze(c.owns) : NO_ROOMS,
      ...(c.device ? { device: c.device } : {}),
      ageVerified: c.age_verified ?? false,
      emailVerified: c.email_verified ?? false,
    });
  }

  /** jose's registered-claim checks (exp, nbf, iat, iss, aud), with its messages. */
  function checkClaims(p: Record<string, unknown>): void {
    const now = Math.floor(Date.now() / 1000);
    const skew = config.jwtClockSkewSec;
    const claim = (name: string, reason: string) => new AuthError(`token claim ${name} invalid: ${reason}`);
    if (p.iat !== undefined && typeof p.iat !== 'number') throw claim('iat', 'invalid');
    if (p.nbf !== undefined) {
      if (typeof p.nbf !== 'number') throw claim('nbf', 'invalid');
      if (p.nbf > now + skew) throw claim('nbf', 'check_failed');
    }
    if (p.exp !== undefined) {
      if (typeof p.exp !== 'number') throw claim('exp', 'invalid');
      if (p.exp <= now - skew) throw new AuthError('token expired');
    }
    if (config.jwtIssuer !== undefined && config.jwtIssuer !== '') {
      if (p.iss === undefined) throw claim('iss', 'missing');
      if (p.iss !== config.jwtIssuer) throw claim('iss', 'check_failed');
    }
    if (config.jwtAudience !== undefined && config.jwtAudience !== '') {
      if (p.aud === undefined) throw claim('aud', 'missing');
      const auds = Array.isArray(p.aud) ? p.aud : [p.aud];
      if (!auds.includes(config.jwtAudience)) throw claim('aud', 'check_failed');
    }
  }

  return {
    verifySync(token) {
      if (!token) throw new AuthError('a token is required');
      if (token.length > MAX_TOKEN_CHARS) throw new AuthError('token too large');
      const parts = token.split('.');
      if (parts.length !== 3 || !parts.every((x) => B64URL.test(x))) {
        // jose's own verdict (malformed token, or its format error) keeps the messages identical.
        return ASYNC;
      }
      const header = jsonPart(parts[0]!);
      if (!header) return ASYNC;
      // Extensions (crit, b64) are jose's to judge.
      if (header.crit !== undefined || header.b64 !== undefined) return ASYNC;
      const alg = header.alg;
      const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
      const sig = Buffer.from(parts[2]!, 'base64url');
      const bad = () => new AuthError('token signature or format invalid');
      if (alg === 'HS256' && secret) {
        const mac = createHmac('sha256', secret).update(signed).digest();
        if (sig.length !== mac.length || !timingSafeEqual(sig, mac)) throw bad();
      } else if (typeof alg === 'string' && JWKS_ALGORITHMS.includes(alg) && jwks) {
        const kid = typeof header.kid === 'string' ? header.kid : undefined;
        const candidates = keys.filter((k) => k.alg === alg && (kid === undefined || k.kid === kid));
        // A key we do not hold yet (remote set not loaded, or rotated): jose fetches it.
        if (candidates.length === 0) return ASYNC;
        const ok = candidates.some((k) =>
          alg === 'ES256' ? cryptoVerify('sha256', signed, { key: k.key, dsaEncoding: 'ieee-p1363' }, sig) : cryptoVerify('sha256', signed, k.key, sig),
        );
        if (!ok) throw bad();
      } else {
        throw new AuthError(`algorithm ${String(alg)} is not accepted`);
      }
      const payload = jsonPart(parts[1]!);
      if (!payload) throw bad();
      checkClaims(payload);
      return identityOf(payload);
    },

    async verify(token) {
      if (!token) throw new AuthError('a token is required');
      if (token.length > MAX_TOKEN_CHARS) throw new AuthError('token too large');
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch {
        throw new AuthError('malformed token');
      }
      let payload: unknown;
      try {
        if (alg === 'HS256' && secret) {
          payload = (await jwtVerify(token, secret, { ...common, algorithms: ['HS256'] })).payload;
        } else if (alg && JWKS_ALGORITHMS.includes(alg) && jwks) {
          payload = (await jwtVerify(token, jwks, { ...common, algorithms: JWKS_ALGORITHMS })).payload;
          if (remote) keys = syncKeys(remote.jwks());
        } else {
          throw new AuthError(`algorithm ${String(alg)} is not accepted`);
        }
      } catch (e) {
        if (e instanceof AuthError) throw e;
        if (e instanceof joseErrors.JWTExpired) throw new AuthError('token expired');
        if (e instanceof joseErrors.JWTClaimValidationFailed) throw new AuthError(`token claim ${e.claim} invalid: ${e.reason}`);
        throw new AuthError('token signature or format invalid');
      }
      return identityOf(payload);
    },
  };
}

export interface MintOptions {
  sub: string;
  name?: string;
  roles?: Role[];
  owns?: string[];
  device?: string;
  /** Lifetime in seconds (default 24 h). */
  ttlSec?: number;
  issuer?: string;
  audience?: string;
}

/** Mint an HS256 token (the `modgate token` command, the embedded demo, tests). */
export async function mintToken(secret: string, o: MintOptions): Promise<string> {
  const claims: Record<string, unknown> = { roles: o.roles ?? ['user'] };
  if (o.name) claims.name = o.name;
  if (o.owns?.length) claims.owns = o.owns;
  if (o.device) claims.device = o.device;
  let jwt = new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(o.sub)
    .setIssuedAt()
    .setExpirationTime(`${o.ttlSec ?? 86_400}s`);
  if (o.issuer) jwt = jwt.setIssuer(o.issuer);
  if (o.audience) jwt = jwt.setAudience(o.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
