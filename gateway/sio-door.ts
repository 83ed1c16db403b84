/**
 * The socket.io door (namespace `/`) on the same uWS app. The official socket.io-client works
 * unchanged, on WebSocket or long-polling. Authentication is a namespace middleware, so it runs on
 * every (re)connection: connection-state recovery stays off because socket.io skips middlewares
 * for recovered sessions, which would let a user banned while disconnected slip back in.
 */
import { Server, type Socket } from 'socket.io';
import type { TemplatedApp } from 'uWebSockets.js';
import { BaseConn, type Conn } from './connection.ts';
import { HandshakeRefusal, nextConnId, type DoorHost } from './door-host.ts';
import type { ClientToServerEvents, Identity, AnyReply, ServerToClientEvents } from './protocol.ts';
import { sioRoom } from './rooms.ts';
import { uwsAdapterFor } from './uws-adapter.ts';

interface SocketData {
  identity: Identity;
  conn?: SioConn;
}

type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type EngineConn = {
  transport: { name: string; socket?: { getBufferedAmount(): number } };
  writeBuffer: unknown[];
  close(): void;
};

/**
 * Long-polling clients queue packets in engine.io's write buffer until their next poll: count a
 * packet as this many bytes for the slow-reader cap (chat packets are ~100–300 bytes).
 */
const POLLING_PACKET_BYTES_ESTIMATE = 512;

class SioConn extends BaseConn implements Conn {
  /** On the prototype, not a field per connection. */
  get door(): 'sio' {
    return 'sio';
  }

  constructor(
    private readonly socket: GatewaySocket,
    id: string,
    user: Identity,
    ip: string,
    host: DoorHost,
  ) {
    super(id, user, ip, host);
  }

  emit(event: string, data: unknown): void {
    if (!this.closed) (this.socket.emit as (e: string, d: unknown) => boolean)(event, data);
  }

  subscribeShared(room: string): void {
    void this.socket.join(sioRoom(room));
  }

  unsubscribeShared(room: string): void {
    void this.socket.leave(sioRoom(room));
  }

  bufferedAmount(): number {
    const engine = this.socket.conn as unknown as EngineConn;
    if (engine.transport.name === 'websocket') return engine.transport.socket?.getBufferedAmount() ?? 0;
    return engine.writeBuffer.length * POLLING_PACKET_BYTES_ESTIMATE;
  }

  close(_reason: string, reconnect: boolean): void {
    if (this.closed) return;
    // Closing the transport lets socket.io-client reconnect (another node, after a restart);
    // `disconnect(true)` is a server-side kick, after which the client stays away.
    if (reconnect) (this.socket.conn as unknown as EngineConn).close();
    else this.socket.disconnect(true);
  }
}

/** The socket.io server on the uWS app; namespaces are bound with `bindNamespace`. */
export function createSocketIo(app: TemplatedApp, host: Pick<DoorHost, 'config'>): Server {
  const limits = host.config.limits;
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>({
    path: '/socket.io/',
    serveClient: false,
    maxHttpBufferSize: limits.maxFrameBytes,
    // A session that never joins a namespace is dropped quickly.
    connectTimeout: 10_000,
    adapter: uwsAdapterFor(app),
    // Deliberately no connectionStateRecovery: see the file comment.
  });
  io.attachApp(app, { maxBackpressure: limits.maxBackpressureBytes, idleTimeout: limits.idleTimeoutSec } as never);
  return io as unknown as Server;
}

/** Serve one protocol (client `/` or admin `/admin`) on a socket.io namespace. */
export function bindNamespace(io: Server, host: DoorHost): void {
  const limits = host.config.limits;
  const nsp = io.of(host.ns) as unknown as Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  const doorLabel = host.ns === '/' ? 'sio' : 'sio-admin';
  nsp.use((socket, next) => {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    const token = typeof auth?.token === 'string' ? auth.token : undefined;
    if (!host.accepting) {
      const err = new Error('gateway is shutting down') as Error & { data?: unknown };
      err.data = { code: 'unavailable', message: err.message };
      host.metrics.handshakeRefused.inc({ door: doorLabel, code: 'unavailable' });
      return next(err);
    }
    host.admit(token, { door: 'sio', ip: socket.handshake.address }).then(
      (identity) => {
        socket.data.identity = identity;
        next();
      },
      (e: unknown) => {
        const r = e instanceof HandshakeRefusal ? e : new HandshakeRefusal(503, { code: 'internal', message: 'handshake failed' });
        host.metrics.handshakeRefused.inc({ door: doorLabel, code: r.body.code });
        const err = new Error(r.body.message) as Error & { data?: unknown };
        err.data = r.body;
        next(err);
      },
    );
  });

  nsp.on('connection', (socket) => {
    const identity = socket.data.identity;
    const conn = new SioConn(socket, nextConnId('sio'), identity, socket.handshake.address, host);
    socket.data.conn = conn;
    host.open(conn);

    socket.onAny((event: string, ...args: unknown[]) => {
      const ack = typeof args[args.length - 1] === 'function' ? (args.pop() as (r: AnyReply) => void) : undefined;
      if (!conn.takeFlood()) {
        conn.log.warn({ reason: 'flood' }, 'closing connection over the hard flood limit');
        host.metrics.disconnects.inc({ reason: 'flood' });
        conn.close('flood limit exceeded', false);
        return;
      }
      const label = host.label(event);
      host.metrics.messagesIn.add(doorLabel, label);
      const respond = (reply: AnyReply) => {
        host.metrics.acks.add(label, reply.ok ? 'ok' : reply.error.code);
        if (conn.closed) return;
        if (ack) ack(reply);
        else if (!reply.ok) conn.emit('error', reply.error);
      };
      let r: AnyReply | Promise<AnyReply>;
      try {
        r = args.length > 1 ? { ok: false, error: { code: 'invalid', message: 'send one data argument', issues: ['args: more than one'] } } : host.request(conn, event, args[0]);
      } catch (e) {
        conn.log.error({ err: (e as Error).message, event: label }, 'request handler failed');
        r = { ok: false, error: { code: 'internal', message: 'internal error' } };
      }
      if (r instanceof Promise) {
        r.then(respond, (e: unknown) => {
          conn.log.error({ err: (e as Error).message, event: label }, 'request handler failed');
          respond({ ok: false, error: { code: 'internal', message: 'internal error' } });
        });
      } else respond(r);
    });

    socket.on('disconnect', () => {
      conn.closed = true;
      host.closed(conn);
    });
  });
}
