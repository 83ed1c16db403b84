/**
 * The client protocol (namespace `/` and `/ws`), door-independent: validate, dispatch, reply.
 * Every request gets exactly one reply of the PROTOCOL.md shape; a result is returned, never thrown
 * (an exception here means a bug, and is answered `internal`).
 */
import type { Conn } from './connection.ts';
import type { Bus } from './bus.ts';
import type { Metrics } from './metrics.ts';
import type { Config } from './config.ts';
import type { Rooms } from './rooms.ts';
import type { UserPrefs } from './user-prefs.ts';
import type { Streams } from './streams.ts';
import type { Pipeline, PipelineMessage, PipelineResult } from '../filters/pipeline.ts';
import { clientSchemas, fail, zodIssues, type ChatMessage, type ClientEventName, type Fail, type AnyReply } from './protocol.ts';

/**
 * The sanction gate: called before the pipeline with what is about to be sent; returns the refusal
 * (muted, restricted, banned...), 'shadow' (accept, but deliver to the sender only) or null.
 */
export type SanctionGate = (conn: Conn, room: string, kind: 'text' | 'image') => Fail | 'shadow' | null;

/** Where held messages go until the review queue picks them up. */
export type HoldSink = (msg: ChatMessage, result: PipelineResult) => void;

/** Told of every pipeline result that found something (the gateway turns some into violations). */
export type FindingsSink = (conn: Conn, msg: PipelineMessage, result: PipelineResult) => void;

export interface ClientEventDeps {
  config: Config;
  rooms: Rooms;
  bus: Bus;
  prefs: UserPrefs;
  pipeline: Pipeline;
  metrics: Metrics;
  gate?: SanctionGate;
  hold?: HoldSink;
  findings?: FindingsSink;
  streams?: Streams;
  /** Why this user may not go live now (sanctions), or null. */
  livestreamRefusal?: (userId: string) => { code: 'restricted' | 'suspended' | 'banned'; until?: string } | null;
  /** Told of every message delivered from this node (reports look authors up). */
  delivered?: (m: ChatMessage) => void;
  /** File a user's report (review queue, auto-hide); resolves to the reply. */
  reports?: (conn: Conn, event: 'message:report' | 'user:report', p: { room?: string; messageId?: string; userId?: string; category: string; note?: string }) => Promise<AnyReply>;
  /** Match a livestream frame (the image filter); resolves to the reply. */
  frames?: (conn: Conn, streamId: string, room: string, image: Uint8Array) => Promise<AnyReply>;
}

const OK = Object.freeze({ ok: true as const });
/** How long a first join in a room waits for the node's bus subscription (normally < 1 ms). */
const BUS_JOIN_DEADLINE_MS = 2000;
const noop = (): void => {};
const BASE64_CHARS_PER_BYTE = 4 / 3;

export function isClientEvent(name: string): name is ClientEventName {
  return Object.hasOwn(clientSchemas, name);
}

export class ClientEvents {
  private seq = 0;
  private readonly idPrefix: string;
  // prom-client children resolved once: a labels lookup per message costs more than the metric.
  private readonly pipelineSeconds;
  private readonly fanoutSeconds;
  private readonly fannedOut;

  constructor(private readonly d: ClientEventDeps) {
    this.idPrefix = `${d.config.nodeId}-`;
    this.pipelineSeconds = d.metrics.stageSeconds.child('pipeline');
    this.fanoutSeconds = d.metrics.stageSeconds.child('fanout');
    this.fannedOut = d.metrics.messagesOut.child('local');
  }

  /** Handle one request. Synchronous unless the work needs to wait (join, async filters). */
  handle(conn: Conn, event: string, data: unknown): AnyReply | Promise<AnyReply> {
    if (!isClientEvent(event)) return fail('invalid', `unknown event ${JSON.stringify(event.slice(0, 64))}`, { issues: ['event: unknown'] });
    const parsed = clientSchemas[event].safeParse(data);
    if (!parsed.success) return fail('invalid', `bad ${event} payload`, { issues: zodIssues(parsed.error) });
    const p = parsed.data as Record<string, unknown>;
    switch (event) {
      case 'room:join':
        return this.join(conn, p.room as string);
      case 'room:leave':
        return this.leave(conn, p.room as string);
      case 'message:send':
        return this.send(conn, p as { room: string; text?: string; image?: string | Uint8Array; clientId?: string });
      case 'user:block':
      case 'user:unblock':
        return this.block(conn, p.userId as string, event === 'user:block');
      case 'filter:set':
        return this.setFilter(conn, p.terms as string[]);
      case 'message:report':
      case 'user:report':
        return this.report(conn, event, p as { room?: string; messageId?: string; userId?: string; category: string; note?: string });
      case 'stream:start':
        return this.streamStart(conn, p.room as string, p.title as string | undefined);
      case 'stream:end':
        return this.streamEnd(conn, p.streamId as string);
      case 'stream:frame':
        return this.streamFrame(conn, p.streamId as string, p.image as string | Uint8Array);
    }
  }

  private async join(conn: Conn, room: string): Promise<AnyReply> {
    if (conn.rooms.has(room)) return { ok: true, room, settings: this.d.rooms.settings(room), live: this.d.streams?.live(room) ?? null };
    if (conn.rooms.size >= this.d.config.limits.maxRoomsPerConnection) {
      return fail('too_large', `a connection may be in at most ${this.d.config.limits.maxRoomsPerConnection} rooms`);
    }
    // Subscribe to the room's bus channel before acknowledging, so that everything published on
    // other nodes after this reply reaches the new member. Bounded: past the deadline the member
    // joins anyway (same-node delivery works) and the subscription completes in the background.
    if (this.d.bus.clustered && !this.d.rooms.has(room)) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const done = await Promise.race([
          this.d.bus.join(room).then(() => true),
          new Promise<false>((r) => (timer = setTimeout(() => r(false), BUS_JOIN_DEADLINE_MS))),
        ]);
        if (!done) {
          this.d.metrics.failOpen.inc({ part: 'bus_join' });
          conn.log.warn({ room }, 'room bus subscription slow; joined without waiting for it');
        }
      } catch {
        return fail('unavailable', 'the room bus is unreachable; try again');
      } finally {
        clearTimeout(timer);
      }
    }
    if (conn.closed) return fail('unavailable', 'connection closed');
    this.d.rooms.join(conn, room);
    return { ok: true, room, settings: this.d.rooms.settings(room), live: this.d.streams?.live(room) ?? null };
  }

  private leave(conn: Conn, room: string): AnyReply {
    if (this.d.rooms.leave(conn, room)) this.d.bus.leave(room);
    return OK;
  }

  private async block(conn: Conn, target: string, blocked: boolean): Promise<AnyReply> {
    if (target === conn.user.id) return fail('invalid', 'you cannot block yourself', { issues: ['userId: yourself'] });
    let list: string[] | 'limit';
    try {
      list = await this.d.prefs.update(conn.user.id, target, blocked, this.d.config.limits.maxBlocks);
    } catch {
      return fail('unavailable', 'block list storage is unreachable; try again');
    }
    if (list === 'limit') return fail('too_large', `at most ${this.d.config.limits.maxBlocks} blocked users`);
    this.d.rooms.refreshUser(conn.user.id);
    this.d.bus.publishControl('blocks', { user: conn.user.id, blocks: list });
    return OK;
  }

  private async report(conn: Conn, event: 'message:report' | 'user:report', p: { room?: string; messageId?: string; userId?: string; category: string; note?: string }): Promise<AnyReply> {
    if (!this.d.reports) return fail('unavailable', 'reports are not enabled on this gateway');
    return this.d.reports(conn, event, p);
  }

  private async streamStart(conn: Conn, room: string, title: string | undefined): Promise<AnyReply> {
    const streams = this.d.streams;
    if (!streams) return fail('unavailable', 'livestreams are not enabled on this gateway');
    if (!conn.user.owns.includes(room)) return fail('forbidden', 'only an owner of the room can go live in it');
    const refusal = this.d.livestreamRefusal?.(conn.user.id);
    if (refusal) {
      const details = { ...(refusal.until ? { until: refusal.until } : {}), ...(refusal.code === 'restricted' ? { feature: 'livestream' } : {}) };
      return fail(refusal.code, refusal.code === 'restricted' ? 'livestreaming is restricted for you' : `your account is ${refusal.code}`, details);
    }
    if (streams.live(room)) return fail('invalid', 'this room is live already: end that stream first', { issues: ['room: already live'] });
    try {
      const doc = await streams.start(room, { id: conn.user.id, name: conn.user.name }, title);
      return { ok: true, streamId: doc.streamId };
    } catch {
      return fail('unavailable', 'stream state is unreachable; try again');
    }
  }

  private async streamEnd(conn: Conn, streamId: string): Promise<AnyReply> {
    const doc = this.d.streams?.byId(streamId);
    if (!doc || doc.endedAt !== undefined) return fail('not_found', 'no live stream with that id');
    if (doc.user.id !== conn.user.id && !conn.user.owns.includes(doc.room)) return fail('forbidden', 'not your stream');
    try {
      await this.d.streams!.end(doc, 'ended');
    } catch {
      return fail('unavailable', 'stream state is unreachable; try again');
    }
    return OK;
  }

  /** A snapshot of the live video, matched against the hash banks (a critical match kills the stream). */
  private async streamFrame(conn: Conn, streamId: string, image: string | Uint8Array): Promise<AnyReply> {
    const doc = this.d.streams?.byId(streamId);
    if (!doc || doc.endedAt !== undefined) return fail('not_found', 'no live stream with that id');
    if (doc.user.id !== conn.user.id) return fail('forbidden', 'only the streamer sends frames');
    const bytes = typeof image === 'string' ? Buffer.from(image, 'base64') : image;
    if (bytes.byteLength > this.d.config.limits.maxImageBytes) return fail('too_large', `frame larger than ${this.d.config.limits.maxImageBytes} bytes`);
    if (!this.d.frames) return OK;
    return this.d.frames(conn, doc.streamId, doc.room, bytes);
  }

  private async setFilter(conn: Conn, terms: string[]): Promise<AnyReply> {
    const unique = [...new Set(terms.map((t) => t.toLowerCase()))];
    try {
      await this.d.prefs.updateFilter(conn.user.id, unique);
    } catch {
      return fail('unavailable', 'comment filter storage is unreachable; try again');
    }
    this.d.rooms.refreshUser(conn.user.id);
    this.d.bus.publishControl('filter', { user: conn.user.id, terms: unique });
    return { ok: true, count: unique.length };
  }

  /**
   * message:send. A sender's messages are processed strictly in order: while one is in flight
   * (an async filter), the next waits behind it, so fan-out order equals send order.
   */
  private send(conn: Conn, p: { room: string; text?: string; image?: string | Uint8Array; clientId?: string }): AnyReply | Promise<AnyReply> {
    const r = conn.tail ? conn.tail.then(() => this.sendNow(conn, p)) : this.sendNow(conn, p);
    if (r instanceof Promise) {
      const tail: Promise<void> = r.then(noop, noop).then(() => {
        if (conn.tail === tail) conn.tail = undefined;
      });
      conn.tail = tail;
    }
    return r;
  }

  private sendNow(conn: Conn, p: { room: string; text?: string; image?: string | Uint8Array; clientId?: string }): AnyReply | Promise<AnyReply> {
    const { room } = p;
    if (conn.closed) return fail('unavailable', 'connection closed');
    if (!conn.rooms.has(room)) return fail('forbidden', 'join the room before sending to it');
    const limits = this.d.config.limits;
    if (p.text !== undefined && p.text.length > limits.maxTextChars) {
      return fail('invalid', `text longer than ${limits.maxTextChars} characters`, { issues: [`text: longer than ${limits.maxTextChars}`] });
    }
    let image: Uint8Array | undefined;
    if (p.image !== undefined) {
      const bytes = typeof p.image === 'string' ? Math.floor(p.image.length / BASE64_CHARS_PER_BYTE) : p.image.byteLength;
      if (bytes > limits.maxImageBytes) return fail('too_large', `image larger than ${limits.maxImageBytes} bytes`, { limit: limits.maxImageBytes });
      image = typeof p.image === 'string' ? Buffer.from(p.image, 'base64') : p.image;
    }
    const kind = image ? 'image' : 'text';
    const gate = this.d.gate?.(conn, room, kind);
    if (gate && gate !== 'shadow') return gate;
    const shadow = gate === 'shadow';

    const id = this.idPrefix + (this.seq++).toString(36);
    // Built without spreads: this runs for every message.
    const msg: PipelineMessage = { kind, id, room, userId: conn.user.id };
    if (p.text !== undefined) msg.text = p.text;
    if (image) msg.image = image;
    const t0 = performance.now();
    const result = this.d.pipeline.run(msg);
    if (result instanceof Promise) return result.then((r) => this.finish(conn, msg, r, t0, image, shadow));
    return this.finish(conn, msg, result, t0, image, shadow);
  }

  private finish(conn: Conn, msg: PipelineMessage, result: PipelineResult, t0: number, image: Uint8Array | undefined, shadow: boolean): AnyReply {
    this.pipelineSeconds.observe((performance.now() - t0) / 1000);
    if (result.findings.length || result.action === 'drop') this.d.findings?.(conn, msg, result);
    if (result.action === 'drop') {
      const e = result.error ?? { code: 'blocked', message: 'message refused' };
      return { ok: false, error: e } as Fail;
    }
    const text = result.text ?? msg.text;
    // Field order is the wire order (id, room, user, text, image, ts); no spreads on this path.
    const out: ChatMessage = { id: msg.id, room: msg.room, user: { id: conn.user.id, name: conn.user.name } } as ChatMessage;
    if (text !== undefined) out.text = text;
    if (image) out.image = Buffer.from(image.buffer, image.byteOffset, image.byteLength).toString('base64');
    out.ts = Date.now();
    if (result.action === 'hold') {
      this.d.hold?.(out, result);
      return { ok: true, id: msg.id, status: 'held' };
    }
    if (conn.closed || !conn.rooms.has(msg.room)) return fail('unavailable', 'left the room before the message was delivered');
    if (shadow) {
      // Shadow restriction: the sender sees a normal delivery on their own connections; nobody else.
      for (const c of this.d.rooms.connectionsOf(conn.user.id)) if (c.rooms.has(msg.room)) c.emit('message', out);
      return { ok: true, id: msg.id, status: 'delivered' };
    }
    const t1 = performance.now();
    this.d.rooms.deliver(msg.room, 'message', out, conn.user.id);
    this.d.bus.publish(msg.room, 'message', out, conn.user.id);
    this.d.delivered?.(out);
    this.fannedOut.inc();
    this.fanoutSeconds.observe((performance.now() - t1) / 1000);
    return result.action === 'mask' ? { ok: true, id: msg.id, status: 'delivered', text } : { ok: true, id: msg.id, status: 'delivered' };
  }
}
