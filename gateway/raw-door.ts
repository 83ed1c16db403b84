/**
 * The raw WebSocket door `/ws`: JSON text frames (PROTOCOL.md "Raw WebSocket frames") on uWS, for
 * k6, bots and other languages. Authentication happens before the upgrade: a refused client gets an
 * HTTP status and a JSON body, never a WebSocket.
 */
import type { TemplatedApp, WebSocket, HttpResponse, HttpRequest, us_socket_context_t } from 'uWebSockets.js';
import { BaseConn, type Conn } from './connection.ts';
import { HandshakeRefusal, HTTP_STATUS, nextConnId, type DoorHost } from './door-host.ts';
import type { ErrorBody, Identity, AnyReply } from './protocol.ts';
import { rawTopic } from './rooms.ts';

interface UserData {
  identity: Identity;
  ip: string;
  /** Declared from the start (undefined until open) so the object keeps one in-object shape. */
  conn: RawConn | undefined;
}

/** Keeps a leading BOM, as Buffer#toString did (the frame is then not JSON). */
const UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/** WebSocket close codes used by the gateway. */
export const CLOSE = { goingAway: 1001, policy: 1008, tooBig: 1009 } as const;

class RawConn extends BaseConn implements Conn {
  /** On the prototype, not a field per connection. */
  get door(): 'ws' {
    return 'ws';
  }

  constructor(
    private readonly ws: WebSocket<UserData>,
    id: string,
    user: Identity,
    ip: string,
    host: DoorHost,
  ) {
    super(id, user, ip, host);
  }

  emit(event: string, data: unknown): void {
    this.sendRawFrame(JSON.stringify({ event, data }));
  }

  sendRawFrame(frame: string): void {
    if (!this.closed) this.ws.send(frame, false);
  }

  reply(ack: number, data: AnyReply): void {
    this.sendRawFrame(JSON.stringify({ ack, data }));
  }

  subscribeShared(room: string): void {
    if (!this.closed) this.ws.subscribe(rawTopic(room));
  }

  unsubscribeShared(room: string): void {
    if (!this.closed) this.ws.unsubscribe(rawTopic(room));
  }

  bufferedAmount(): number {
    return this.closed ? 0 : this.ws.getBufferedAmount();
  }

  close(reason: string, reconnect: boolean): void {
    if (this.closed) return;
    this.ws.end(reconnect ? CLOSE.goingAway : CLOSE.policy, reason.slice(0, 120));
  }
}

function bearer(header: string): string | undefined {
  const m = /^Bearer ([^\s]+)$/i.exec(header);
  return m?.[1];
}

export function attachRawDoor(app: TemplatedApp, host: DoorHost, path: '/ws' | '/ws/admin'): void {
  const limits = host.config.limits;
  const eventsIn = new Map<string, { inc(): void }>();
  const countIn = (event: string) => {
    const label = host.label(event);
    let c = eventsIn.get(label);
    if (!c) eventsIn.set(label, (c = host.metrics.messagesIn.child(host.ns === '/' ? 'ws' : 'ws-admin', label)));
    c.inc();
  };

  const respond = (conn: RawConn, event: string, ack: number | undefined, reply: AnyReply) => {
    host.metrics.acks.add(host.label(event), reply.ok ? 'ok' : reply.error.code);
    if (conn.closed) return;
    if (ack !== undefined) conn.reply(ack, reply);
    else if (!reply.ok) conn.emit('error', reply.error);
  };
  const sendError = (conn: RawConn, error: ErrorBody) => conn.emit('error', error);

  app.ws<UserData>(path, {
    maxPayloadLength: limits.maxFrameBytes,
    maxBackpressure: limits.maxBackpressureBytes,
    // uWS drops publishes to a client whose queue is at the cap; the gateway's slow-reader sweep
    // then closes it (server.ts). Direct sends past the cap close it here at once.
    closeOnBackpressureLimit: 1,
    idleTimeout: limits.idleTimeoutSec,
    sendPingsAutomatically: true,

    upgrade: (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
      // Everything from req must be read now: it is invalid after this callback returns.
      const key = req.getHeader('sec-websocket-key');
      const protocol = req.getHeader('sec-websocket-protocol');
      const extensions = req.getHeader('sec-websocket-extensions');
      const token = bearer(req.getHeader('authorization')) ?? new URLSearchParams(req.getQuery() ?? '').get('token') ?? undefined;
      const ip = Buffer.from(res.getRemoteAddressAsText()).toString();
      let aborted = false;
      res.onAborted(() => {
        aborted = true;
      });
      const refuse = (r: HandshakeRefusal) => {
        host.metrics.handshakeRefused.inc({ door: host.ns === '/' ? 'ws' : 'ws-admin', code: r.body.code });
        if (aborted) return;
        res.cork(() => {
          res
            .writeStatus(HTTP_STATUS[r.status] ?? `${r.status}`)
            .writeHeader('Content-Type', 'application/json')
            .end(JSON.stringify(r.body));
        });
      };
      if (!host.accepting) return refuse(new HandshakeRefusal(503, { code: 'unavailable', message: 'gateway is shutting down' }));
      const refusal = (e: unknown) => (e instanceof HandshakeRefusal ? e : new HandshakeRefusal(503, { code: 'internal', message: 'handshake failed' }));
      // Upgrade inside this callback whenever the token can be judged without awaiting (HS256,
      // JWKS keys in hand): uWS corks the socket here itself. An upgrade completed later from a
      // promise must cork it explicitly, and this uWS build has a bug there (uWebSockets PR
      // #1929: cork() can mistake the new WebSocket for the HTTP response and close it — clients
      // saw 1006 right after the handshake), so the rare asynchronous case upgrades uncorked,
      // which costs a few more syscalls and a warning from uWS on stderr.
      let identity: Identity | undefined;
      try {
        identity = host.admitSync(token, { door: 'ws', ip });
      } catch (e) {
        return refuse(refusal(e));
      }
      if (identity) {
        res.upgrade<UserData>({ identity, ip, conn: undefined }, key, protocol, extensions, context);
        return;
      }
      host.admit(token, { door: 'ws', ip }).then(
        (identity) => {
          if (aborted) return;
          res.upgrade<UserData>({ identity, ip, conn: undefined }, key, protocol, extensions, context);
        },
        (e: unknown) => refuse(refusal(e)),
      );
    },

    open: (ws: WebSocket<UserData>) => {
      const ud = ws.getUserData();
      const conn = new RawConn(ws, nextConnId('ws'), ud.identity, ud.ip, host);
      ud.conn = conn;
      host.open(conn);
    },

    message: (ws: WebSocket<UserData>, message: ArrayBuffer, isBinary: boolean) => {
      const conn = ws.getUserData().conn!;
      if (!conn.takeFlood()) {
        conn.log.warn({ reason: 'flood' }, 'closing connection over the hard flood limit');
        host.metrics.disconnects.inc({ reason: 'flood' });
        conn.close('flood limit exceeded', false);
        return;
      }
      if (isBinary) return sendError(conn, { code: 'invalid', message: 'binary frames are not accepted: send JSON text frames', issues: ['frame: binary'] });
      // uWS reuses `message` once this callback returns: decoding copies it into a JS string
      // (invalid UTF-8 becomes U+FFFD, as with Buffer#toString; no Buffer object per frame).
      const text = UTF8.decode(message);
      let frame: unknown;
      try {
        frame = JSON.parse(text);
      } catch {
        return sendError(conn, { code: 'invalid', message: 'frame is not valid JSON', issues: ['frame: not JSON'] });
      }
      if (typeof frame !== 'object' || frame === null || Array.isArray(frame)) {
        return sendError(conn, { code: 'invalid', message: 'frame must be a JSON object', issues: ['frame: not an object'] });
      }
      const { event, data, ack } = frame as { event?: unknown; data?: unknown; ack?: unknown };
      const ackId = typeof ack === 'number' && Number.isSafeInteger(ack) ? ack : undefined;
      if (ack !== undefined && ackId === undefined) {
        return sendError(conn, { code: 'invalid', message: 'ack must be an integer', issues: ['ack: not an integer'] });
      }
      if (typeof event !== 'string' || event.length === 0 || event.length > 64) {
        const body: AnyReply = { ok: false, error: { code: 'invalid', message: 'frame needs an "event" string', issues: ['event: required string'] } };
        return respond(conn, '', ackId, body);
      }
      countIn(event);
      let r: AnyReply | Promise<AnyReply>;
      try {
        r = host.request(conn, event, data);
      } catch (e) {
        conn.log.error({ err: (e as Error).message, event }, 'request handler failed');
        r = { ok: false, error: { code: 'internal', message: 'internal error' } };
      }
      if (r instanceof Promise) {
        r.then(
          (reply) => respond(conn, event, ackId, reply),
          (e: unknown) => {
            conn.log.error({ err: (e as Error).message, event }, 'request handler failed');
            respond(conn, event, ackId, { ok: false, error: { code: 'internal', message: 'internal error' } });
          },
        );
      } else respond(conn, event, ackId, r);
    },

    close: (ws: WebSocket<UserData>) => {
      const conn = ws.getUserData().conn;
      if (!conn) return;
      conn.closed = true;
      host.closed(conn);
    },
  });
}
