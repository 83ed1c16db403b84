/**
 * The composition root: one uWS app on one port serving socket.io (`/`), the raw door (`/ws`) and
 * the HTTP endpoints, wired to rooms, the bus, the moderation pipeline and metrics.
 */
import uWS from 'uWebSockets.js';
import type { HttpResponse, TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { Redis } from 'ioredis';
import type { Server as IoServer } from 'socket.io';
import { createAuthenticator, AuthError, ASYNC, type Authenticator } from './auth.ts';
import { LocalBus, RedisBus, fastFailRedisOptions, type Bus } from './bus.ts';
import { ClientEvents, isClientEvent, type HoldSink, type SanctionGate } from './client-events.ts';
import { ConfigError, type Config } from './config.ts';
import type { Conn } from './connection.ts';
import { HandshakeRefusal, HTTP_STATUS, type DoorHost, type HandshakeMeta, type Namespace } from './door-host.ts';
import { AdminEvents, isAdminEvent } from './admin-events.ts';
import { MemoryAuditLog, RedisAuditLog, type AuditLog } from './audit.ts';
import { endsSession, handshakeRefusal, noticeOf, sanctionGate, touchedConnections } from './enforcement.ts';
import { MemorySanctionStore, type SanctionStore } from './sanction-store.ts';
import { RedisSanctionStore } from './redis-sanction-store.ts';
import { categorySettings, isKnownCategory, loadPolicy, resolveCategory, reviewTarget } from '../rules/policy.ts';
import { recordViolation, type ViolationDeps } from './violations.ts';
import { automatedViolation, ViolationThrottle } from './automated-violations.ts';
import { MemorySharedConfig, RedisSharedConfig, type SharedConfig } from './shared-config.ts';
import { Streams, livestreamRefusal, publishHookKey, type StreamDoc } from './streams.ts';
import { dropPublisher, type KillAck } from './stream-kill.ts';
import { AUTO_HIDE_WINDOW_MS, REPORT_WINDOW_MS, ReviewQueue, type QueueItem } from './review-queue.ts';
import { fail } from './protocol.ts';
import { createLogger, type Logger } from './logger.ts';
import { Metrics } from './metrics.ts';
import type { AnyReply, Identity, Notice, RoomSettings } from './protocol.ts';
import { attachRawDoor } from './raw-door.ts';
import { Rooms } from './rooms.ts';
import { bindNamespace, createSocketIo } from './sio-door.ts';
import { UserPrefs } from './user-prefs.ts';
import { Pipeline, type Filter, type Verdict } from '../filters/pipeline.ts';
import { alwaysRuns, configurePipeline } from './pipeline-config.ts';
import { createKeywordFilter, compileUserFilter } from '../filters/keyword/index.ts';
import { createSpamFilter } from '../filters/spam/spam-filter.ts';
import { ItemLru, Lru, type LruItem } from '../filters/spam/lru.ts';
import { createImageFilter } from '../filters/image/image-filter.ts';
import type { BanksSnapshot } from '../filters/image/banks.ts';
import { BANKS_KEY, termsSnapshot } from './filter-admin.ts';
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
  readonly store: SanctionStore;
  readonly audit: AuditLog;
  /** Resolves once sanction state has been loaded (or failed to load). */
  ready(): Promise<void>;
  /** Re-read and validate the policy file (SIGHUP); a bad file leaves the current policy in force. */
  reloadPolicy(): { ok: true; version: string } | { ok: false; error: string };
  /** Graceful shutdown: stop accepting, tell clients, drain in-flight work, close. */
  close(): Promise<void>;
}

export const DEFAULT_FILTERS: readonly Filter[] = [visibleText];

/** Media servers send small hook bodies; anything bigger is not one. */
const PUBLISH_HOOK_MAX_BODY = 16 * 1024;

/** A livestream frame's check: decode + hash + match (the image filter's own budget is 100 ms). */
const FRAME_TIMEOUT_MS = 500;

/**
 * Where a user was last seen on this node: one object per user with the eviction flag on it, the
 * time in whole seconds (a small integer, not a boxed double); every connecting user has one.
 */
class SeenEntry implements LruItem {
  lruUsed = false;
  readonly atSec = Math.floor(Date.now() / 1000);
  constructor(
    readonly device: string | undefined,
    readonly ip: string,
  ) {}

  view(): { device?: string; ip: string; at: number } {
    return { ...(this.device ? { device: this.device } : {}), ip: this.ip, at: this.atSec * 1000 };
  }
}

/** Message authors remembered per node for reports (a report names a recent message). */
const RECENT_AUTHORS = 200_000;

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
  const prefs = new UserPrefs(redis, (terms) => compileUserFilter(terms));
  let policy = loadPolicy(config.policyPath);
  log.info({ version: policy.version, path: config.policyPath ?? 'shipped default' }, 'policy loaded');
  const store: SanctionStore = config.redisUrl
    ? new RedisSanctionStore({ url: config.redisUrl, nodeId: config.nodeId, log, ...(config.outboxPath ? { outboxPath: config.outboxPath } : {}) })
    : new MemorySanctionStore();
  const auditLog: AuditLog = config.redisUrl ? new RedisAuditLog(config.redisUrl, config.nodeId, { log }) : new MemoryAuditLog(config.nodeId, { log });
  metrics.watchAudit(auditLog);
  /** Moderators' live feeds on this node: connection → rooms (undefined = all). */
  const feeds = new Map<Conn, readonly string[] | undefined>();
  const feedLocal = (type: 'flag' | 'action', data: unknown, room: string | undefined) => {
    for (const [c, rooms] of feeds) {
      if (c.closed) feeds.delete(c);
      else if (!rooms || (room !== undefined && rooms.includes(room))) c.emit(type, data);
    }
  };
  let feed = (type: 'flag' | 'action', data: unknown, room: string | undefined) => feedLocal(type, data, room);
  /** Every audit entry is also an `action` event on the moderators' feeds (every node). */
  const audit: Pick<AuditLog, 'append' | 'query'> = {
    append(e) {
      auditLog.append(e);
      feed('action', { ...e, ts: new Date().toISOString(), node: config.nodeId }, e.subject?.room);
    },
    query: (q) => auditLog.query(q),
  };
  const sharedConfig: SharedConfig = config.redisUrl ? new RedisSharedConfig(config.redisUrl, config.nodeId, log) : new MemorySharedConfig();
  const streams = new Streams(sharedConfig, store);
  const queue = new ReviewQueue(sharedConfig, (category) => reviewTarget(policy, category) ?? { priority: 'standard', targetSec: policy.review.targetSec.standard });
  /** Confirmations of a kill from every node, collected by the node that issued it. */
  const killAcks = new Map<string, KillAck[]>();
  const onKillAck = (a: KillAck) => killAcks.get(a.streamId)?.push(a);
  // Room settings and streams changed anywhere reach the room's members on every node.
  sharedConfig.onChange((kind, key, value) => {
    if (!rooms) return;
    if (kind === 'room' && rooms.has(key)) rooms.deliver(key, 'room:settings', { room: key, settings: rooms.settings(key) });
    if (kind !== 'streams' || !value) return;
    const d = value as StreamDoc;
    if (d.endedAt === undefined) {
      rooms.deliver(d.room, 'stream:started', { room: d.room, streamId: d.streamId, title: d.title, user: d.user });
      return;
    }
    const ended = { room: d.room, streamId: d.streamId, reason: d.reason ?? 'ended' };
    rooms.deliver(d.room, 'stream:ended', ended);
    // The streamer hears of it even when not in the room's chat.
    for (const c of rooms.connectionsOf(d.user.id)) if (!c.rooms.has(d.room)) c.emit('stream:ended', ended);
    if (d.reason === 'killed') {
      const ack: KillAck = { streamId: d.streamId, node: config.nodeId, viewers: rooms.memberCount(d.room), at: new Date().toISOString() };
      onKillAck(ack);
      bus.publishControl('kill-ack', ack);
    }
  });

  /** Client connections (namespace `/`, `/ws`) and admin connections (`/admin`, `/ws/admin`). */
  const conns = new Set<Conn>();
  const adminConns = new Set<Conn>();
  /** Where each user was last seen on this node (device, IP), for moderators and IP bans. */
  const SEEN_KEEP = 100_000;
  const seen = new ItemLru<string, SeenEntry>(SEEN_KEEP);
  let accepting = true;
  let rooms!: Rooms;
  const deliverNoticeLocally = (userId: string, notice: Notice) => {
    let delivered = false;
    for (const c of [...rooms.connectionsOf(userId)]) {
      c.emit('moderation:notice', notice);
      delivered = true;
    }
    if (delivered) void store.ackNotice(userId, notice.caseId);
  };
  const fannedOutRemote = metrics.messagesOut.child('remote');
  const deliverRemote = (room: string, event: string, data: unknown, senderId: string | undefined) => {
    rooms.deliver(room, event, data, senderId);
    if (event === 'message' && senderId) rememberAuthor(room, (data as { id: string }).id, senderId);
    fannedOutRemote.inc();
  };
  const onControl = (type: string, data: unknown) => {
    if (type === 'blocks') {
      const { user, blocks } = data as { user: string; blocks: string[] };
      if (rooms.connectionsOf(user).length === 0) return;
      prefs.set(user, blocks);
      rooms.refreshUser(user);
    } else if (type === 'filter') {
      const { user, terms } = data as { user: string; terms: string[] };
      if (rooms.connectionsOf(user).length === 0) return;
      prefs.setFilter(user, terms);
      rooms.refreshUser(user);
    } else if (type === 'feed') {
      const f = data as { type: 'flag' | 'action'; data: unknown; room?: string };
      feedLocal(f.type, f.data, f.room);
    } else if (type === 'kill-ack') {
      onKillAck(data as KillAck);
    } else if (type === 'notice') {
      const { user, notice } = data as { user: string; notice: Notice };
      deliverNoticeLocally(user, notice);
    }
  };
  const bus: Bus = config.redisUrl
    ? new RedisBus(config.redisUrl, config.nodeId, deliverRemote, onControl, log, (op) => metrics.busErrors.inc({ op }))
    : new LocalBus();
  feed = (type, data, room) => {
    feedLocal(type, data, room);
    bus.publishControl('feed', { type, data, ...(room !== undefined ? { room } : {}) });
  };
  const deliverToRoom = (room: string, event: string, data: unknown, senderId?: string) => {
    rooms.deliver(room, event, data, senderId);
    bus.publish(room, event, data, senderId);
    if (event === 'message' && senderId) rememberAuthor(room, (data as { id: string }).id, senderId);
  };

  // Every sanction this node learns of — issued here or on any other node — is enforced here.
  store.onChange((c) => {
    if (c.op !== 'put') return;
    const s = c.sanction;
    const ends = endsSession(s);
    const notice = noticeOf(s);
    if (ends) {
      for (const conn of touchedConnections(s, [...conns, ...adminConns])) {
        conn.emit('session:ended', { code: ends, notice });
        conn.log.info({ sanction: s.id, code: ends }, 'session ended by sanction');
        metrics.disconnects.inc({ reason: ends });
        conn.close(ends, false);
      }
      if (rooms.connectionsOf(s.userId).length === 0) return;
    }
    if (s.kind !== 'shadow') deliverNoticeLocally(s.userId, notice);
  });

  // The detectors. Their lists live in the shared configuration (every node, survives restarts).
  const keyword = createKeywordFilter({ buildInWorker: true });
  const spamRedis = config.redisUrl ? new Redis(config.redisUrl, fastFailRedisOptions(`modgate-spam-${config.nodeId}`)) : undefined;
  spamRedis?.on('error', (e: Error) => log.warn({ err: e.message }, 'spam redis error'));
  spamRedis?.connect().catch(() => {});
  let spam: ReturnType<typeof createSpamFilter>;
  try {
    spam = createSpamFilter({
    redis: spamRedis,
    ...(config.spamLimits ? { limits: config.spamLimits as never } : {}),
    nodeId: config.nodeId,
    roomSettings: (room) => rooms.settings(room),
    // Moderators and the room's owners: slow mode and content rules do not apply to them.
    isExempt: (userId, room) => {
      // Asked on every message: the user's identity is the same on all their connections.
      const user = rooms.connectionsOf(userId)[0]?.user;
      if (!user) return false;
      return user.roles.includes('moderator') || user.roles.includes('admin') || user.owns.includes(room);
    },
    });
  } catch (e) {
    throw new ConfigError(`spamLimits: ${(e as Error).message}`);
  }
  const image = createImageFilter({ limits: { maxBytes: config.limits.maxImageBytes }, ...(config.imageWorkers ? { hashWorkers: config.imageWorkers } : {}) });
  metrics.watchImagePool(() => image.hashPool?.stats());
  sharedConfig.onChange((kind) => {
    if (kind === 'terms') keyword.lists.restore(termsSnapshot(sharedConfig));
    else if (kind === 'banks') image.banks.restore((sharedConfig.get('banks', BANKS_KEY) as BanksSnapshot | undefined) ?? { format: 'modgate.banks/1', version: 1, banks: [] });
  });
  const builtInFilters: readonly Filter[] = [visibleText, alwaysRuns(spam.filter), alwaysRuns(keyword.filter), image.filter];
  const pipeline = new Pipeline(configurePipeline(options.filters ?? builtInFilters, config.pipeline.filters), {
    budgetMs: config.pipeline.budgetMs,
    observe: (filter, outcome, seconds) => {
      metrics.filterOutcome.add(filter, outcome);
      metrics.filterSeconds.observe1(filter, seconds);
    },
  });

  /** Token, then (for admins) role, then live sanctions. Fails closed until state is loaded. */
  async function authenticate(token: string | undefined, meta: HandshakeMeta, ns: Namespace): Promise<Identity> {
    let identity: Identity;
    try {
      identity = await auth.verify(token);
    } catch (e) {
      if (e instanceof AuthError) throw new HandshakeRefusal(401, { code: 'unauthorized', message: e.message });
      throw e;
    }
    return admitIdentity(identity, meta, ns);
  }

  /** authenticate without awaiting: undefined when the token needs the asynchronous path. */
  function authenticateSync(token: string | undefined, meta: HandshakeMeta, ns: Namespace): Identity | undefined {
    let identity: Identity | typeof ASYNC;
    try {
      identity = auth.verifySync(token);
    } catch (e) {
      if (e instanceof AuthError) throw new HandshakeRefusal(401, { code: 'unauthorized', message: e.message });
      throw e;
    }
    return identity === ASYNC ? undefined : admitIdentity(identity, meta, ns);
  }

  function admitIdentity(identity: Identity, meta: HandshakeMeta, ns: Namespace): Identity {
    if (ns === '/admin' && !identity.roles.some((r) => r === 'moderator' || r === 'admin') && identity.owns.length === 0) {
      audit.append({
        kind: 'refused',
        action: 'forbidden',
        actor: { type: 'user', id: identity.id, roles: [...identity.roles] },
        facts: `admin handshake without a moderator or admin role (${meta.door})`,
        automatedDetection: false,
        automatedDecision: true,
      });
      throw new HandshakeRefusal(403, { code: 'forbidden', message: 'the admin door needs the moderator or admin role, or a room you own' });
    }
    if (store.unhealthy()?.startsWith('sanction state not reconciled')) {
      throw new HandshakeRefusal(503, { code: 'unavailable', message: 'sanction state is loading; try again shortly' });
    }
    const refusal = handshakeRefusal(store, identity.id, identity.device, meta.ip);
    if (refusal) {
      throw new HandshakeRefusal(403, {
        code: refusal.code,
        message: refusal.code === 'banned' ? 'you are banned' : 'your account is suspended',
        notice: refusal.notice,
        ...(refusal.until ? { until: refusal.until } : {}),
      });
    }
    seen.add(identity.id, new SeenEntry(identity.device, meta.ip));
    log.debug({ user: identity.id, door: meta.door, ns }, 'handshake accepted');
    return identity;
  }

  const makeHost = (
    ns: Namespace,
    set: Set<Conn>,
    h: Pick<DoorHost, 'request' | 'label'> & { onOpen?: (c: Conn) => void; onClosed?: (c: Conn) => void; prepare?: (i: Identity) => Promise<void> | undefined },
  ): DoorHost => ({
    ns,
    config,
    log,
    metrics,
    get accepting() {
      return accepting;
    },
    admit: (token, meta) => authenticate(token, meta, ns),
    admitSync: (token, meta) => authenticateSync(token, meta, ns),
    open(conn) {
      set.add(conn);
      metrics.connections.inc({ door: conn.door, ns });
      metrics.connectionsTotal.inc({ door: conn.door, ns });
      // What the user controls (blocks, comment filter) loads after the handshake, so the
      // handshake itself needs no await; requests wait for it (in order) until it is in.
      const loading = h.prepare?.(conn.user);
      if (loading) {
        const done = () => {
          conn.ready = undefined;
        };
        conn.ready = loading.then(done, done);
      }
      h.onOpen?.(conn);
      if (log.isLevelEnabled('debug')) conn.log.debug('connected');
    },
    closed(conn) {
      if (!set.delete(conn)) return;
      metrics.connections.dec({ door: conn.door, ns });
      h.onClosed?.(conn);
      if (log.isLevelEnabled('debug')) conn.log.debug('disconnected');
    },
    request(conn, event, data) {
      const ready = conn.ready;
      if (ready) return ready.then(() => h.request(conn, event, data));
      return h.request(conn, event, data);
    },
    label: h.label,
    connLog(conn, door, user) {
      return log.child({ conn, door, ns, user: user.id });
    },
  });

  const host = makeHost('/', conns, {
    // Load what this user controls before their first request is handled.
    prepare: (identity) => prefs.load(identity.id),
    onOpen(conn) {
      rooms.add(conn);
      // Notices issued while the user was away.
      store.takeNotices(conn.user.id).then(
        (list) => {
          for (const n of list) conn.emit('moderation:notice', n);
        },
        () => {},
      );
    },
    onClosed(conn) {
      for (const room of rooms.remove(conn)) bus.leave(room);
      if (rooms.connectionsOf(conn.user.id).length === 0) prefs.forget(conn.user.id);
    },
    request: (conn, event, data) => events.handle(conn, event, data),
    label: (event) => (isClientEvent(event) ? event : 'unknown'),
  });
  const violationDeps: ViolationDeps = {
    store,
    audit,
    policy: () => policy,
    deliverNotice(userId, notice) {
      deliverNoticeLocally(userId, notice);
      bus.publishControl('notice', { user: userId, notice });
    },
  };
  const violationThrottle = new ViolationThrottle();
  const admin = new AdminEvents({
    ...violationDeps,
    config,
    sharedConfig,
    streams,
    seen: (userId) => seen.peek(userId)?.view(),
    async collectKillAcks(streamId, windowMs) {
      const acks: KillAck[] = [];
      killAcks.set(streamId, acks);
      await new Promise((r) => setTimeout(r, windowMs));
      killAcks.delete(streamId);
      return acks;
    },
    dropPublisher: (doc) => dropPublisher(config, doc),
    queue,
    hashImage: (bytes) => image.hashImage(bytes),
    severityOf(category) {
      const id = resolveCategory(policy, category);
      const tier = id ? categorySettings(policy, id)?.tier : undefined;
      return tier === 'critical' ? 'critical' : tier === 'severe' ? 'high' : tier === 'moderate' ? 'medium' : 'low';
    },
    deliverToRoom,
    subscribeFeed(conn, rooms) {
      feeds.set(conn, rooms);
    },
  });
  const adminHost = makeHost('/admin', adminConns, {
    request: (conn, event, data) => admin.handle(conn, event, data),
    label: (event) => (isAdminEvent(event) ? event : 'unknown'),
  });

  /** Who wrote recent messages (reports name a message id; the author comes from here). */
  const messageAuthors = new Lru<string, string>(RECENT_AUTHORS);
  const rememberAuthor = (room: string, id: string, userId: string) => {
    messageAuthors.set(`${room}:${id}`, userId);
  };
  /** Enough distinct users reported it: hide it pending review (POLICY.md due process). */
  async function autoHide(item: QueueItem): Promise<void> {
    if (item.kind === 'message_report' && item.room && item.messageId) {
      deliverToRoom(item.room, 'message:deleted', { room: item.room, id: item.messageId, reason: 'hidden pending review' });
    } else if (item.kind === 'user_report') {
      const id = `autohide:${item.userId}:${item.createdAt}`;
      await store.put({ id, userId: item.userId, kind: 'shadow', actor: { type: 'automation', id: 'reports' }, reason: `reported by ${item.reporters?.length ?? 0} users; hidden pending review`, category: item.category, policy: 'reports:auto-hide', caseId: `case_${id}`, start: Date.now(), until: item.dueAt });
      await queue.update({ ...item, hiddenSanctionId: id }).catch(() => {});
    }
    audit.append({ kind: 'decision', action: 'hide', category: item.category, actor: { type: 'automation', id: 'reports' }, subject: { userId: item.userId, ...(item.room ? { room: item.room } : {}), ...(item.messageId ? { messageId: item.messageId } : {}) }, facts: `${item.reporters?.length ?? 0} distinct reports within ${AUTO_HIDE_WINDOW_MS / 60_000} min`, automatedDetection: true, automatedDecision: true, ground: item.category, redress: 'review' });
  }

  /**
   * A livestream frame against the hash banks: a match is a violation during a live stream (the
   * policy's livestream ladder); a critical category, or a decision that kills, ends the stream.
   */
  let frameSeq = 0;
  async function checkFrame(conn: Conn, streamId: string, room: string, bytes: Uint8Array): Promise<AnyReply> {
    const id = `frame-${config.nodeId}-${(frameSeq++).toString(36)}`;
    let v: Verdict;
    try {
      v = await image.filter.check({ kind: 'image', id, room, userId: conn.user.id, image: bytes }, { deadlineMs: FRAME_TIMEOUT_MS, signal: AbortSignal.timeout(FRAME_TIMEOUT_MS) });
    } catch {
      metrics.failOpen.inc({ part: 'frame' });
      return fail('unavailable', 'the frame could not be checked in time');
    }
    if (v.action === 'drop' && v.error?.code === 'invalid') return fail('invalid', v.error.message, { issues: ['image: cannot be decoded'] });
    if (v.action !== 'drop' || v.error?.code !== 'blocked') return { ok: true };
    const category = String(v.error.category);
    const finding = v.findings?.find((f) => f.category === category);
    feed('flag', { type: 'blocked', room, userId: conn.user.id, streamId, category, policy: v.error.policy, evidence: finding?.evidence }, room);
    const doc = streams.byId(streamId);
    let kill = categorySettings(policy, resolveCategory(policy, category) ?? '')?.tier === 'critical';
    let caseId: string | undefined;
    if (isKnownCategory(policy, category)) {
      try {
        const r = await recordViolation(
          violationDeps,
          { userId: conn.user.id, category, at: Date.now(), room, source: 'automation', live: true, detector: 'image', ...(finding?.score !== undefined ? { score: finding.score } : {}), evidence: [id, ...(finding?.evidence ?? [])] },
          { type: 'automation', id: 'image', detector: 'image', ...(finding?.score !== undefined ? { score: finding.score } : {}) },
          `livestream frame matched a hash bank (${finding?.evidence?.join(' ') ?? category})`,
        );
        caseId = r.caseId;
        kill ||= r.sanctions.some((x) => x.kind === 'stream_kill' || x.kind === 'ban' || x.kind === 'suspend' || x.kind === 'stream_suspend');
      } catch (e) {
        log.warn({ err: (e as Error).message, streamId }, 'frame violation not recorded');
      }
    }
    if (kill && doc && doc.endedAt === undefined) {
      await streams.end(doc, 'killed', caseId).catch((e: Error) => log.error({ err: e.message, streamId }, 'automatic stream kill failed'));
      void dropPublisher(config, doc);
    }
    return fail('blocked', 'this frame matches a known image', { category, policy: v.error.policy, ...(kill ? { streamKilled: true } : {}) });
  }

  const io = createSocketIo(app, host);
  bindNamespace(io, host);
  bindNamespace(io, adminHost);
  rooms = new Rooms(app, io.of('/'), prefs, (room) => sharedConfig.get('room', room) as Partial<RoomSettings> | undefined);
  const events = new ClientEvents({
    config,
    rooms,
    bus,
    prefs,
    pipeline,
    metrics,
    gate: options.gate ?? sanctionGate(store),
    streams,
    livestreamRefusal: (userId) => livestreamRefusal(store, userId),
    delivered: (m) => rememberAuthor(m.room, m.id, m.user.id),
    frames: (conn, streamId, room, bytes) => checkFrame(conn, streamId, room, bytes),
    findings(conn, msg, result) {
      if (result.action === 'drop' && result.error?.code === 'blocked') {
        feed('flag', { type: 'blocked', room: msg.room, userId: conn.user.id, messageId: msg.id, category: result.error.category, policy: result.error.policy }, msg.room);
      }
      const v = automatedViolation(msg, result);
      if (!v) return;
      const now = Date.now();
      if (!isKnownCategory(policy, v.category)) {
        log.warn({ category: v.category, detector: v.detector }, 'a filter reported a category the policy does not know; no violation recorded');
        return;
      }
      if (!violationThrottle.allow(conn.user.id, now)) {
        metrics.automatedViolations.add('throttled');
        return;
      }
      metrics.automatedViolations.add('recorded');
      recordViolation(
        violationDeps,
        { userId: conn.user.id, category: v.category, at: now, room: msg.room, messageId: msg.id, source: 'automation', detector: v.detector, evidence: v.evidence, repeat: v.repeat, ...(v.score !== undefined ? { score: v.score } : {}) },
        { type: 'automation', id: v.detector, detector: v.detector, ...(v.score !== undefined ? { score: v.score } : {}) },
        `automated detection by ${v.detector}`,
      ).catch((e: Error) => {
        // The message was refused already; the decision could not be recorded (Redis away).
        metrics.automatedViolations.add('failed');
        log.warn({ err: e.message, user: conn.user.id, category: v.category }, 'automated violation not recorded');
      });
    },
    hold:
      options.hold ??
      ((msg, result) => {
        const category = result.findings.find((f) => !f.shadow)?.category ?? 'unknown';
        queue.hold(msg, category, result.findings).then(
          (item) => feed('flag', { type: 'held', itemId: item.id, room: msg.room, userId: msg.user.id, messageId: msg.id, category, priority: item.priority }, msg.room),
          (e: Error) => log.error({ err: e.message, room: msg.room }, 'held message could not be queued'),
        );
      }),
    async reports(conn, event, p) {
      if (!isKnownCategory(policy, p.category)) return fail('invalid', `unknown category ${p.category}`, { issues: ['category: not in policy'] });
      if (!queue.allowReport(conn.user.id)) return fail('rate_limited', 'too many reports; try again later', { retryAfterMs: REPORT_WINDOW_MS });
      if (event === 'message:report' && !conn.rooms.has(p.room!)) return fail('forbidden', 'join the room to report its messages');
      const reported = event === 'user:report' ? p.userId! : messageAuthors.peek(`${p.room}:${p.messageId}`);
      if (!reported) return fail('not_found', 'no such recent message in this room');
      let r: Awaited<ReturnType<ReviewQueue['report']>>;
      try {
        r = await queue.report({ kind: event === 'message:report' ? 'message_report' : 'user_report', reporter: conn.user.id, userId: reported, category: p.category, ...(p.room ? { room: p.room } : {}), ...(p.messageId ? { messageId: p.messageId } : {}), ...(p.note ? { note: p.note } : {}) });
      } catch {
        return fail('unavailable', 'the review queue is unreachable; try again');
      }
      feed('flag', { type: 'reported', itemId: r.item.id, userId: reported, room: r.item.room, messageId: r.item.messageId, category: p.category, reporters: r.item.reporters?.length ?? 1 }, r.item.room);
      if (r.hideNow) await autoHide(r.item);
      return { ok: true, reportId: r.item.id };
    },
  });
  attachRawDoor(app, host, '/ws');
  attachRawDoor(app, adminHost, '/ws/admin');

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
    return store.unhealthy() ?? sharedConfig.unhealthy() ?? bus.unhealthy();
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
  app.get('/transparency', (res, req) => {
    const since = new URLSearchParams(req.getQuery() ?? '').get('since') ?? undefined;
    if (since !== undefined && Number.isNaN(Date.parse(since))) return json(res, 400, { code: 'invalid', message: 'since must be an ISO date' });
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    auditLog.transparency(since).then(
      (report) => {
        if (!aborted) json(res, 200, report);
      },
      () => {
        if (!aborted) json(res, 503, { code: 'unavailable', message: 'the audit log is unreachable' });
      },
    );
  });
  app.post('/hooks/publish', (res, req) => {
    const contentType = req.getHeader('content-type');
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    const chunks: Buffer[] = [];
    let size = 0;
    res.onData((chunk, isLast) => {
      // Copy: uWS reuses the chunk's memory after this callback.
      size += chunk.byteLength;
      if (size > PUBLISH_HOOK_MAX_BODY) {
        if (!aborted) json(res, 400, { code: 400, message: 'hook body too large' });
        aborted = true;
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (!isLast || aborted) return;
      const parsed = publishHookKey(contentType, Buffer.concat(chunks).toString('utf8'));
      if ('error' in parsed) {
        metrics.publishHook.add('invalid');
        return json(res, 400, { code: 400, message: parsed.error });
      }
      const verdict = streams.mayPublish(parsed.key);
      metrics.publishHook.add(verdict.ok ? 'allowed' : 'refused');
      log.info({ flavour: parsed.flavour, stream: parsed.key, allowed: verdict.ok, ...(verdict.ok ? {} : { reason: verdict.reason }) }, 'publish hook');
      // SRS reads {"code":0} as "allow"; nginx-rtmp and MediaMTX only look at the status.
      if (verdict.ok) json(res, 200, { code: 0, streamId: verdict.doc.streamId, room: verdict.doc.room });
      else json(res, 403, { code: 403, message: verdict.reason });
    });
  });
  app.any('/*', (res) => json(res, 404, { code: 'not_found', message: 'no such route' }));

  // Connect to Redis in the background: /readyz says 503 until it is there, and ioredis keeps retrying.
  if (redis) redis.connect().catch((e: Error) => log.warn({ err: e.message }, 'redis not reachable yet'));
  if (bus instanceof RedisBus) bus.connect().catch((e: Error) => log.warn({ err: e.message }, 'bus redis not reachable yet'));
  // Reconcile sanction state in the background: handshakes are refused (503) until it is loaded.
  const storeStarted = Promise.all([
    store.start().catch((e: Error) => log.error({ err: e.message }, 'sanction store failed to start')),
    sharedConfig.start().catch((e: Error) => log.error({ err: e.message }, 'shared configuration failed to load')),
  ]);

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
      for (const conn of [...conns, ...adminConns]) conn.emit('server:shutdown', { reconnect: true });
      const tails = [...conns].map((c) => c.tail).filter(Boolean);
      if (tails.length) {
        await Promise.race([Promise.allSettled(tails), new Promise((r) => setTimeout(r, config.shutdownGraceMs).unref())]);
      }
      for (const conn of [...conns, ...adminConns]) conn.close('server shutting down', true);
      io.close();
      await Promise.race([auditLog.flush().catch(() => {}), new Promise((r) => setTimeout(r, 1000).unref())]);
      await auditLog.close();
      await store.close();
      keyword.close();
      spam.close();
      await image.close(); // terminates the hash workers
      spamRedis?.disconnect();
      await sharedConfig.close();
      await bus.close();
      redis?.disconnect();
      metrics.close();
      (app as TemplatedApp & { close?: () => void }).close?.();
      log.info('closed');
    })());

  /** Re-read the policy file; on any error keep the current policy and say why. */
  const reloadPolicy = (): { ok: true; version: string } | { ok: false; error: string } => {
    try {
      policy = loadPolicy(config.policyPath);
      log.info({ version: policy.version }, 'policy reloaded');
      return { ok: true, version: policy.version };
    } catch (e) {
      log.error({ err: (e as Error).message }, 'policy reload failed; keeping the current policy');
      return { ok: false, error: (e as Error).message };
    }
  };

  return { port, config, metrics, log, io, store, audit: auditLog, ready: () => storeStarted.then(() => undefined), reloadPolicy, close };
}
