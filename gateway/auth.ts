/**
 * Handshake authentication: JWTs verified with jose against a fixed set of algorithms (HS256 with
 * the shared secret; RS256/ES256 with a JWKS file or URL), exp/nbf with a small clock skew. The
 * identity a connection acts as comes only from here, never from payload fields.
 */
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
}

export function createAuthenticator(config: Pick<Config, 'jwtSecret' | 'jwks' | 'jwtIssuer' | 'jwtAudience' | 'jwtClockSkewSec'>): Authenticator {
  const secret = config.jwtSecret ? new TextEncoder().encode(config.jwtSecret) : undefined;
  let jwks: JWTVerifyGetKey | undefined;
  if (config.jwks) {
    if (/^https?:\/\//.test(config.jwks)) {
      // Remote JWKS: jose caches keys and rate-limits refetches (cooldown) on unknown kids.
      jwks = createRemoteJWKSet(new URL(config.jwks), { timeoutDuration: 2000, cooldownDuration: 30_000 });
    } else {
      try {
        jwks = createLocalJWKSet(JSON.parse(readFileSync(config.jwks, 'utf8')));
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

  return {
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
        } else {
          throw new AuthError(`algorithm ${String(alg)} is not accepted`);
        }
      } catch (e) {
        if (e instanceof AuthError) throw e;
        if (e instanceof joseErrors.JWTExpired) throw new AuthError('token expired');
        if (e instanceof joseErrors.JWTClaimValidationFailed) throw new AuthError(`token claim ${e.claim} invalid: ${e.reason}`);
        throw new AuthError('token signature or format invalid');
      }
      const claims = claimsSchema.safeParse(payload);
      if (!claims.success) throw new AuthError(`token claims invalid: ${zodIssues(claims.error).join('; ')}`);
      const c = claims.data;
      const roles: Role[] = c.roles?.length ? c.roles : ['user'];
      return Object.freeze({
        id: c.sub,
        name: c.name ?? c.sub,
        roles: Object.freeze(roles),
        owns: Object.freeze(c.owns ?? []),
        ...(c.device ? { device: c.device } : {}),
        ageVerified: c.age_verified ?? false,
        emailVerified: c.email_verified ?? false,
      });
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
