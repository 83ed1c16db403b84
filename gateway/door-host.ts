/**
 * What a door (raw `/ws`, socket.io `/`) needs from the gateway: authentication at the handshake,
 * connection bookkeeping and request handling. The doors own framing only.
 */
import type { Config } from './config.ts';
import type { Conn, Door } from './connection.ts';
import type { Logger } from './logger.ts';
import type { Metrics } from './metrics.ts';
import type { ErrorBody, Identity, AnyReply } from './protocol.ts';

/** A refused handshake: HTTP status for the raw door, `connect_error` data for socket.io. */
export class HandshakeRefusal extends Error {
  override name = 'HandshakeRefusal';
  constructor(
    readonly status: 401 | 403 | 503,
    readonly body: ErrorBody,
  ) {
    super(body.message);
  }
}

export interface HandshakeMeta {
  door: Door;
  ip: string;
}

/** Which namespace a door serves: the client protocol or the admin protocol. */
export type Namespace = '/' | '/admin';

export interface DoorHost {
  readonly ns: Namespace;
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** False while draining: new handshakes are refused with 503. */
  readonly accepting: boolean;
  /** Verify the token and admission rules; throws HandshakeRefusal. */
  admit(token: string | undefined, meta: HandshakeMeta): Promise<Identity>;
  /**
   * The same without awaiting: the Identity, or throws HandshakeRefusal, or undefined when the
   * token needs `admit` (a JWKS key not fetched yet, an unusual header).
   */
  admitSync(token: string | undefined, meta: HandshakeMeta): Identity | undefined;
  open(conn: Conn): void;
  closed(conn: Conn): void;
  request(conn: Conn, event: string, data: unknown): AnyReply | Promise<AnyReply>;
  /** Metric label for an event name: known names only, so clients cannot grow label cardinality. */
  label(event: string): string;
  /** A connection's log child: never carries the token or message bodies. */
  connLog(connId: string, door: Door, user: Identity): Logger;
}

/** Statuses as uWS wants them. */
export const HTTP_STATUS: Record<number, string> = {
  200: '200 OK',
  400: '400 Bad Request',
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  503: '503 Service Unavailable',
};

let connSeq = 0;
/** Connection ids: unique per process, short, never derived from the token. */
export function nextConnId(door: Door): string {
  return `${door}${(connSeq++).toString(36)}`;
}
