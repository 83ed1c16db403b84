/**
 * The composition root: one uWS app on one port serving socket.io (`/`), the raw door (`/ws`) and
 * the HTTP endpoints, wired to rooms, the bus, the moderation pipeline and metrics.
 */
import uWS from 'uWebSockets.js';
import type { HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { Redis } from 'ioredis';
import type { Server as IoServer } from 'socket.io';
import { createAuthenticator, AuthError, type Authenticator } from './auth.ts';
import { LocalBus, RedisBus, fastFailRedisOptions, type Bus } from './bus.ts';
import { ClientEvents, type HoldSink, type SanctionGate } from './client-events.ts';
import type { Config } from './config.ts';
import type { Conn } from './connection.ts';
import { HandshakeRefusal, HTTP_STATUS, type DoorHost, type HandshakeMeta } from './door-host.ts';
import { createLogger, type Logger } from './logger.ts';
import { Metrics } from './metrics.ts';
import type { Identity, AnyReply } from './protocol.ts';
import { attachRawDoor } from './raw-door.ts';
import { Rooms } from './rooms.ts';
import { attachSocketIoDoor } from './sio-door.ts';
import { UserPrefs } from './user-prefs.ts';
import { Pipeline, type Filter } from '../filters/pipeline.ts';
import { visibleText } from '../filters/visible-text.ts';

/** How often connections are checked for a slow reader (bytes queued past the cap). */
const SLOW_READER_SWEEP_MS = 500;
/**
 * uWS never lets a queue pass its cap: a publish that would is dropped for that subscriber, so the
 * queue of a client that stopped reading plateaus just under the cap. A client whose queue is over
 * half the cap on two sweeps in a row (~1 s) is not keeping up; a healthy one drains a burst in ms.
 */
const SLOW_READER_FRACTION = 0.5;
const SLOW_READER_SWEEPS = 2;

export interface GatewayOptions {
  logger?: Logger;
  /** The moderation checks, in order (default: the built-in ones). */
  filters?: readonly Filter[];
  gate?: SanctionGate;
  hold?: HoldSink;
}

export interface Gateway {
  readonly port: number;
  readonly config: Config;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly io: IoServer;
  /** Graceful shutdown: stop accepting, tell clients, drain in-flight work, close. */
  close(): Promise<void>;
}

export const DEFAULT_FILTERS: readonly Filter[] = [visibleText];

/** Held messages waiting for the review queue (a later issue); bounded so memory is too. */
const HELD_KEEP = 1000;

export async function startGateway(config: Config, options: GatewayOptions = {}): Promise<Gateway> {
  // The uWS package silently falls back to a broken JS shim on an unsupported Node: refuse to start.
  if (typeof uWS.SSLApp !== 'function' || typeof uWS.App !== 'function') {
    throw new Error(`uWebSockets.js has no native binary for Node ${process.version} (ABI ${process.versions.modules}); use Node 20`);
  }
  const log = options.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics();
  const auth: Authenticator = createAuthenticator(config);
  const app: TemplatedApp = uWS.App();

  const redis = config.redisUrl ? new Redis(config.redisUrl, fastFailRedisOptions(`modgate-state-${config.nodeId}`)) : undefined;
  redis?.on('error', (e: Error) => log.warn({ err: e.message }, 'state redis error'));
  const prefs = new UserPrefs(redis);

  const conns = new Set<Conn>();
  let accepting = true;
  let rooms!: Rooms;
  const deliverRemote = (room: string, event: string, data: unknown, senderId: string | undefined) => {
    rooms.deliver(room, event, data, senderId);
    metrics.messagesOut.inc({ origin: 'remote' });
  };
  const onControl = (type: string, data: unknown) => {
    if (type === 'blocks') {
      const { user, blocks } = data as { user: string; blocks: string[] };
      if (rooms.connectionsOf(user).size === 0) return;
      prefs.set(user, blocks);
      rooms.refreshUser(user);
    }
  };
  const bus: Bus = config.redisUrl
    ? new RedisBus(config.redisUrl, config.nodeId, deliverRemote, onControl, log, (op) => metrics.busErrors.inc({ op }))
    : new LocalBus();

  const held: unknown[] = [];
  const pipeline = new Pipeline(options.filters ?? DEFAULT_FILTERS, {
    budgetMs: config.pipeline.budgetMs,
    observe: (filter, outcome, seconds) => {
      metrics.filterOutcome.inc({ filter, outcome });
      metrics.filterSeconds.observe({ filter }, seconds);
    },
  });

  const host: DoorHost = {
    config,
    log,
    metrics,
    get accepting() {
      return accepting;
    },
    async admit(token: string | undefined, meta: HandshakeMeta): Promise<Identity> {
      let identity: Identity;
      try {
        identity = await auth.verify(token);
      } catch (e) {
        if (e instanceof AuthError) throw new HandshakeRefusal(401, { code: 'unauthorized', message: e.message });
        throw e;
      }
      // Load what this user controls before their first message can arrive.
      await prefs.load(identity.id);
      log.debug({ user: identity.id, door: meta.door }, 'handshake accepted');
      return identity;
    },
    open(conn) {
      conns.add(conn);
      rooms.add(conn);
      metrics.connections.inc({ door: conn.door, ns: '/' });
      metrics.connectionsTotal.inc({ door: conn.door, ns: '/' });
      conn.log.debug('connected');
    },
    closed(conn) {
      if (!conns.delete(conn)) return;
      for (const room of rooms.remove(conn)) bus.leave(room);
      if (rooms.connectionsOf(conn.user.id).size === 0) prefs.forget(conn.user.id);
      metrics.connections.dec({ door: conn.door, ns: '/' });
      conn.log.debug('disconnected');
    },
    request(conn: Conn, event: string, data: unknown): AnyReply | Promise<AnyReply> {
      return events.handle(conn, event, data);
    },
    connLog(conn, door, user) {
      return log.child({ conn, door, user: user.id });
    },
  };

  const io = attachSocketIoDoor(app, host);
  rooms = new Rooms(app, io.of('/'), prefs);
  const events = new ClientEvents({
    config,
    rooms,
    bus,
    prefs,
    pipeline,
    metrics,
    ...(options.gate ? { gate: options.gate } : {}),
    hold:
      options.hold ??
      ((msg) => {
        held.push(msg);
        if (held.length > HELD_KEEP) held.shift();
      }),
  });
  attachRawDoor(app, host);
  // The admin doors (`/admin`, `/ws/admin`) attach here with the sanctions issue.

  const json = (res: HttpResponse, status: number, body: unknown) => {
    res.cork(() => {
      res
        .writeStatus(HTTP_STATUS[status] ?? String(status))
        .writeHeader('Content-Type', 'application/json')
        .end(JSON.stringify(body));
    });
  };
  const notReady = (): string | null => {
    if (!accepting) return 'shutting down';
    if (redis && redis.status !== 'ready') return `redis ${redis.status}`;
    return bus.unhealthy();
  };
  app.get('/healthz', (res) => json(res, 200, { status: 'ok' }));
  app.get('/readyz', (res) => {
    const reason = notReady();
    json(res, reason ? 503 : 200, reason ? { status: 'unavailable', reason } : { status: 'ready', node: config.nodeId });
  });
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    metrics.registry.metrics().then(
      (text) => {
        if (aborted) return;
        res.cork(() => {
          res.writeStatus('200 OK').writeHeader('Content-Type', metrics.registry.contentType).end(text);
        });
      },
      () => {
        if (!aborted) json(res, 503, { status: 'unavailable' });
      },
    );
  });
  app.any('/*', (res) => json(res, 404, { code: 'not_found', message: 'no such route' }));

  // Connect to Redis in the background: /readyz says 503 until it is there, and ioredis keeps retrying.
  if (redis) redis.connect().catch((e: Error) => log.warn({ err: e.message }, 'redis not reachable yet'));
  if (bus instanceof RedisBus) bus.connect().catch((e: Error) => log.warn({ err: e.message }, 'bus redis not reachable yet'));

  const listenSocket = await new Promise<us_listen_socket>((resolve, reject) => {
    app.listen(config.host, config.port, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${config.host}:${config.port}`))));
  });
  const port = uWS.us_socket_local_port(listenSocket);

  const lagging = new WeakMap<Conn, number>();
  const sweep = setInterval(() => {
    const cap = config.limits.maxBackpressureBytes * SLOW_READER_FRACTION;
    for (const conn of conns) {
      const buffered = conn.bufferedAmount();
      if (buffered <= cap) {
        lagging.delete(conn);
        continue;
      }
      const sweeps = (lagging.get(conn) ?? 0) + 1;
      lagging.set(conn, sweeps);
      if (sweeps >= SLOW_READER_SWEEPS) {
        conn.log.warn({ reason: 'slow_reader', buffered }, 'closing a client that stopped reading');
        metrics.disconnects.inc({ reason: 'slow_reader' });
        conn.close('slow reader: too much unread data', true);
      }
    }
  }, SLOW_READER_SWEEP_MS);
  sweep.unref();

  log.info({ port, host: config.host, node: config.nodeId, clustered: bus.clustered }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      accepting = false;
      uWS.us_listen_socket_close(listenSocket);
      clearInterval(sweep);
      log.info({ connections: conns.size }, 'shutting down: draining');
      for (const conn of conns) conn.emit('server:shutdown', { reconnect: true });
      const tails = [...conns].map((c) => c.tail).filter(Boolean);
      if (tails.length) {
        await Promise.race([Promise.allSettled(tails), new Promise((r) => setTimeout(r, config.shutdownGraceMs).unref())]);
      }
      for (const conn of [...conns]) conn.close('server shutting down', true);
      io.close();
      await bus.close();
      redis?.disconnect();
      metrics.close();
      (app as TemplatedApp & { close?: () => void }).close?.();
      log.info('closed');
    })());

  return { port, config, metrics, log, io, close };
}
