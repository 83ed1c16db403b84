/**
 * The admin protocol (namespace `/admin`, `/ws/admin`): moderators and admins issue and lift
 * sanctions, record violations for the policy to decide, and look users up. Authority comes from the
 * verified token only. Every action is audited with its actor and reaches every node through the
 * sanction store.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Config } from './config.ts';
import type { Conn } from './connection.ts';
import { fail, zodIssues, ROOM_ID, type AnyReply, type RoomSettings } from './protocol.ts';
import { StoreUnavailableError, type Sanction } from './sanction-store.ts';
import { noticeOf } from './enforcement.ts';
import { SharedConfigUnavailable, type SharedConfig } from './shared-config.ts';
import { DEFAULT_ROOM_SETTINGS } from './rooms.ts';
import type { Streams, StreamDoc } from './streams.ts';
import type { DropResult, KillAck } from './stream-kill.ts';
import type { ReviewQueue } from './review-queue.ts';
import { BANKS_KEY, BankError, TermListError, banksAfterAdd, banksAfterRemove, filterAdminSchemas, scopeOf, termsAfterAdd, termsAfterRemove } from './filter-admin.ts';
import type { Term } from '../filters/keyword/index.ts';
import type { BanksSnapshot } from '../filters/image/banks.ts';
import { categorySettings, resolveCategory, type Policy } from '../rules/policy.ts';
import { isKnownCategory } from '../rules/decide.ts';
import type { Violation } from '../rules/types.ts';
import { recordViolation, type RecordedViolation, type ViolationDeps } from './violations.ts';

const FEATURES = ['chat', 'dm', 'livestream', 'upload', 'report'] as const;
const userId = z.string().min(1).max(128);
const room = z.string().regex(ROOM_ID, 'room id must match ^[a-z0-9][a-z0-9:_-]{0,63}$');
const reason = z.string().min(1).max(1000);
const category = z.string().min(1).max(64);
/** Ten years: longer than that is permanent, which is said by leaving the duration out. */
const MAX_DURATION_SEC = 10 * 365 * 86_400;
/** Warnings are kept as state this long (the minor ladder's probation). */
const WARN_RECORD_SEC = 30 * 86_400;

export const adminSchemas = {
  'user:sanction': z
    .strictObject({
      userId,
      action: z.enum(['warn', 'mute', 'restrict', 'suspend', 'ban', 'shadow']),
      room: room.optional(),
      durationSec: z.number().int().positive().max(MAX_DURATION_SEC).optional(),
      features: z.array(z.enum(FEATURES)).min(1).max(FEATURES.length).optional(),
      reason,
      category: category.optional(),
      /** Extension: with `ban`, also refuse this device id / IP address (ban evasion). */
      device: z.string().min(1).max(128).optional(),
      ip: z.string().min(1).max(64).optional(),
    })
    .superRefine((p, ctx) => {
      if (p.action === 'restrict' && !p.features) ctx.addIssue({ code: 'custom', path: ['features'], message: 'restrict needs features' });
      if (p.action !== 'restrict' && p.features) ctx.addIssue({ code: 'custom', path: ['features'], message: 'features only go with restrict' });
      if (p.room && p.action !== 'mute') ctx.addIssue({ code: 'custom', path: ['room'], message: 'room only scopes a mute' });
      if ((p.device || p.ip) && p.action !== 'ban') ctx.addIssue({ code: 'custom', path: ['device'], message: 'device and ip only go with ban' });
    }),
  'user:pardon': z.strictObject({ userId, sanctionId: z.string().min(1).max(128).optional() }),
  'violation:record': z.strictObject({ userId, category, reason, room: room.optional(), messageId: z.string().min(1).max(128).optional() }),
  'user:get': z.strictObject({ userId }),
  'stream:kill': z
    .strictObject({
      room: room.optional(),
      streamId: z.string().min(1).max(64).optional(),
      reason,
      category: category.optional(),
      /** Also suspend the streamer from livestreaming for this many days. */
      suspendDays: z.number().int().min(1).max(3650).optional(),
    })
    .refine((x) => x.room !== undefined || x.streamId !== undefined, { message: 'room or streamId is required', path: ['room'] }),
  'message:delete': z.strictObject({ room, messageId: z.string().min(1).max(128), reason: z.string().max(500).optional() }),
  'chat:clear': z.strictObject({ room }),
  'queue:list': z.strictObject({ room: room.optional(), limit: z.number().int().min(1).max(500).optional() }),
  'queue:decide': z.strictObject({ itemId: z.string().min(1).max(300), decision: z.enum(['approve', 'reject']), category: category.optional(), reason: z.string().max(1000).optional() }),
  'audit:query': z.strictObject({ userId: userId.optional(), room: room.optional(), since: z.union([z.string().max(40), z.number()]).optional(), limit: z.number().int().min(1).max(1000).optional() }),
  'feed:subscribe': z.strictObject({ rooms: z.array(room).max(500).optional() }),
  ...filterAdminSchemas,
  'room:update': z.strictObject({
    room,
    settings: z
      .strictObject({
        /** Seconds a user waits between messages in the room (0 = off; at most a day). */
        slowModeSec: z.number().int().min(0).max(86_400).optional(),
        linksAllowed: z.boolean().optional(),
      })
      .refine((x) => Object.keys(x).length > 0, { message: 'settings: nothing to change' }),
  }),
} as const;

export type AdminEventName = keyof typeof adminSchemas;
export function isAdminEvent(name: string): name is AdminEventName {
  return Object.hasOwn(adminSchemas, name);
}

export interface AdminDeps extends ViolationDeps {
  config: Config;
  sharedConfig: SharedConfig;
  streams: Streams;
  /** Collect every node's kill confirmation for `windowMs`. */
  collectKillAcks: (streamId: string, windowMs: number) => Promise<KillAck[]>;
  dropPublisher: (doc: StreamDoc) => Promise<DropResult>;
  queue: ReviewQueue;
  /** Hash an image (PDQ and blockhash) for hashes:add { image }. */
  hashImage: (bytes: Uint8Array) => Promise<{ pdq: string; blockhash: string }>;
  /** The severity a bank of this category gets (from the policy's tier). */
  severityOf: (category: string) => 'low' | 'medium' | 'high' | 'critical';
  /** Deliver an event to a room's members on every node. */
  deliverToRoom: (room: string, event: string, data: unknown, senderId?: string) => void;
  /** Start streaming flag and action events to this admin connection. */
  subscribeFeed: (conn: Conn, rooms: readonly string[] | undefined) => void;
  /** Where users were last seen (device, ip) — for user:get. */
  seen: (userId: string) => { device?: string; ip?: string; at: number } | undefined;
  now?: () => number;
}

/** The window of `limits.highImpactPerMinute` (bans, suspensions, kills per moderator). */
export const HIGH_IMPACT_WINDOW_MS = 60_000;

/** What a room owner may do in a room it owns (besides a room-scoped mute). */
const OWNER_ROOM_EVENTS: ReadonlySet<AdminEventName> = new Set(['room:update', 'message:delete', 'chat:clear', 'terms:add', 'terms:remove', 'terms:list']);

/** How long a kill waits for the nodes' confirmations before answering (they normally take ~1 ms). */
const KILL_ACK_WINDOW_MS = 250;
/** A stream_kill is an event more than a state: kept as a sanction record this long. */
const STREAM_KILL_RECORD_MS = 60_000;

const unavailable = () => fail('unavailable', 'the sanction store is unreachable; lifting and policy decisions wait for it. Try again.');

export class AdminEvents {
  private readonly now: () => number;
  private readonly highImpact = new Map<string, { start: number; n: number }>();
  constructor(private readonly d: AdminDeps) {
    this.now = d.now ?? Date.now;
  }

  handle(conn: Conn, event: string, data: unknown): AnyReply | Promise<AnyReply> {
    if (!isAdminEvent(event)) return fail('invalid', `unknown admin event ${JSON.stringify(event.slice(0, 64))}`, { issues: ['event: unknown'] });
    const parsed = adminSchemas[event].safeParse(data);
    if (!parsed.success) return fail('invalid', `bad ${event} payload`, { issues: zodIssues(parsed.error) });
    const p = parsed.data as never;
    const denied = this.authorize(conn, event, parsed.data as { room?: string; action?: string });
    if (denied) return denied;
    const limited = this.highImpactLimit(conn, event, parsed.data as { action?: string });
    if (limited) return limited;
    switch (event) {
      case 'user:sanction':
        return this.sanction(conn, p);
      case 'user:pardon':
        return this.pardon(conn, p);
      case 'violation:record':
        return this.violation(conn, p);
      case 'user:get':
        return this.get(p);
      case 'room:update':
        return this.roomUpdate(conn, p);
      case 'stream:kill':
        return this.streamKill(conn, p);
      case 'message:delete':
        return this.messageDelete(conn, p);
      case 'chat:clear':
        return this.chatClear(conn, p);
      case 'queue:list':
        return this.queueList(conn, p);
      case 'queue:decide':
        return this.queueDecide(conn, p);
      case 'audit:query':
        return this.auditQuery(p);
      case 'feed:subscribe':
        return this.feedSubscribe(conn, p);
      case 'terms:add':
      case 'terms:remove':
      case 'terms:list':
        return this.terms(conn, event, p);
      case 'hashes:add':
      case 'hashes:remove':
        return this.hashes(conn, event, p);
    }
  }

  /**
   * Moderators and admins act anywhere. A room owner acts only in rooms it owns, and only with the
   * room's own tools (a room mute, room settings...): the room comes from the validated payload and
   * the authority from the verified token — never from a payload field. Refusals are audited.
   */
  private authorize(conn: Conn, event: AdminEventName, p: { room?: string; action?: string }): AnyReply | null {
    if (conn.user.roles.some((r) => r === 'moderator' || r === 'admin')) return null;
    // Owners' queue:list and feed:subscribe are scoped to their rooms by the handlers.
    if (event === 'queue:list' || event === 'feed:subscribe') return null;
    const owns = p.room !== undefined && conn.user.owns.includes(p.room);
    const ownerMay = (event === 'user:sanction' && p.action === 'mute') || OWNER_ROOM_EVENTS.has(event);
    if (owns && ownerMay) return null;
    this.d.audit.append({
      kind: 'refused',
      action: 'forbidden',
      actor: this.actor(conn),
      subject: p.room ? { room: p.room } : {},
      facts: `${event}${p.action ? ` (${p.action})` : ''} refused: room owners act only in rooms they own, with room tools`,
      automatedDetection: false,
      automatedDecision: true,
    });
    return fail('forbidden', ownerMay ? 'you do not own this room' : `${event}${p.action ? ` ${p.action}` : ''} needs the moderator or admin role`);
  }

  /**
   * Safeguard on high-impact actions: bans, suspensions and stream kills are limited per moderator
   * (a compromised or runaway account cannot empty a platform), and the refusal is audited.
   */
  private highImpactLimit(conn: Conn, event: AdminEventName, p: { action?: string }): AnyReply | null {
    const highImpact = event === 'stream:kill' || (event === 'user:sanction' && (p.action === 'ban' || p.action === 'suspend'));
    if (!highImpact) return null;
    const now = this.now();
    let w = this.highImpact.get(conn.user.id);
    if (!w || now - w.start >= HIGH_IMPACT_WINDOW_MS) this.highImpact.set(conn.user.id, (w = { start: now, n: 0 }));
    const max = this.d.config.limits.highImpactPerMinute;
    if (++w.n <= max) return null;
    this.d.audit.append({ kind: 'refused', action: 'rate_limited', actor: this.actor(conn), facts: `${event}${p.action ? ` ${p.action}` : ''}: over ${max} high-impact actions per ${HIGH_IMPACT_WINDOW_MS / 1000} s`, automatedDetection: false, automatedDecision: true });
    return fail('rate_limited', `at most ${max} bans, suspensions and stream kills per minute`, { retryAfterMs: w.start + HIGH_IMPACT_WINDOW_MS - now });
  }

  private actor(conn: Conn) {
    return { type: 'user' as const, id: conn.user.id, roles: [...conn.user.roles] };
  }

  private async sanction(conn: Conn, p: z.infer<(typeof adminSchemas)['user:sanction']>): Promise<AnyReply> {
    const now = this.now();
    const id = `s_${randomUUID()}`;
    const caseId = `case_${randomUUID()}`;
    const durationSec = p.action === 'warn' ? (p.durationSec ?? WARN_RECORD_SEC) : p.durationSec;
    const policy = this.d.policy();
    const appealable = p.category ? policyAppealable(policy, p.category) : true;
    const s: Sanction = {
      id,
      userId: p.userId,
      kind: p.action,
      ...(p.room ? { room: p.room } : {}),
      ...(p.features ? { features: p.features } : {}),
      ...(p.device ? { device: p.device } : {}),
      ...(p.ip ? { ip: p.ip } : {}),
      actor: { type: 'user', id: conn.user.id },
      reason: p.reason,
      ...(p.category ? { category: p.category } : {}),
      policy: 'moderator',
      caseId,
      start: now,
      ...(durationSec !== undefined ? { until: now + durationSec * 1000 } : {}),
      appealable,
    };
    if (s.kind !== 'shadow') s.notice = noticeOf(s, this.d.config);
    // The store records the notice as pending with the sanction (one step), then every node enforces it.
    await this.d.store.put(s);
    this.d.audit.append({
      kind: 'sanction',
      action: p.action,
      ...(p.category ? { category: p.category } : {}),
      actor: this.actor(conn),
      subject: { userId: p.userId, ...(p.room ? { room: p.room } : {}) },
      caseId,
      sanctionId: id,
      policy: 'moderator',
      restriction: restrictionOf(s),
      ...(durationSec !== undefined ? { durationSec } : {}),
      facts: p.reason,
      automatedDetection: false,
      automatedDecision: false,
      ground: p.category ?? 'moderator judgement',
      redress: appealable ? 'appeal' : 'not appealable',
    });
    return { ok: true, sanctionId: id, caseId };
  }

  private async pardon(conn: Conn, p: z.infer<(typeof adminSchemas)['user:pardon']>): Promise<AnyReply> {
    let lifted: Sanction[];
    try {
      lifted = await this.d.store.lift(p.userId, p.sanctionId);
    } catch (e) {
      if (e instanceof StoreUnavailableError) return unavailable();
      throw e;
    }
    if (p.sanctionId && lifted.length === 0) return fail('not_found', `no active sanction ${p.sanctionId} for ${p.userId}`);
    this.d.audit.append({
      kind: 'pardon',
      action: 'pardon',
      actor: this.actor(conn),
      subject: { userId: p.userId },
      ...(p.sanctionId ? { sanctionId: p.sanctionId } : {}),
      facts: `lifted ${lifted.map((s) => `${s.kind}:${s.id}`).join(', ') || 'nothing'}`,
      automatedDetection: false,
      automatedDecision: false,
    });
    return { ok: true, lifted: lifted.map((s) => s.id) };
  }

  private async violation(conn: Conn, p: z.infer<(typeof adminSchemas)['violation:record']>): Promise<AnyReply> {
    const policy = this.d.policy();
    if (!isKnownCategory(policy, p.category)) return fail('invalid', `unknown category ${p.category}`, { issues: [`category: not in policy ${policy.version}`] });
    const violation: Violation = {
      userId: p.userId,
      category: p.category,
      at: this.now(),
      source: 'moderator',
      ...(p.room ? { room: p.room } : {}),
      ...(p.messageId ? { messageId: p.messageId, evidence: [p.messageId] } : {}),
    };
    let r: RecordedViolation;
    try {
      r = await recordViolation(this.d, violation, this.actor(conn), p.reason);
    } catch (e) {
      if (e instanceof StoreUnavailableError) return unavailable();
      throw e;
    }
    return { ok: true, caseId: r.caseId, action: r.decision.notice.action, ...(r.sanctions[0] ? { sanctionId: r.sanctions[0].id } : {}) };
  }

  private async streamKill(conn: Conn, p: z.infer<(typeof adminSchemas)['stream:kill']>): Promise<AnyReply> {
    const doc = p.streamId ? this.d.streams.byId(p.streamId) : this.d.streams.doc(p.room!);
    if (!doc || doc.endedAt !== undefined) return fail('not_found', 'no live stream there');
    if (p.room && doc.room !== p.room) return fail('invalid', 'that stream is not in that room', { issues: ['streamId: other room'] });
    const policy = this.d.policy();
    if (p.category && !isKnownCategory(policy, p.category)) return fail('invalid', `unknown category ${p.category}`, { issues: ['category: not in policy'] });
    const now = this.now();
    const caseId = `case_${randomUUID()}`;
    const until = p.suspendDays ? now + p.suspendDays * 86_400_000 : undefined;
    const base = { userId: doc.user.id, streamId: doc.streamId, actor: { type: 'user' as const, id: conn.user.id }, reason: p.reason, ...(p.category ? { category: p.category } : {}), policy: 'moderator', caseId, start: now, appealable: p.category ? policyAppealable(policy, p.category) : true };
    const kill: Sanction = { ...base, id: `${caseId}:kill`, kind: 'stream_kill', until: now + STREAM_KILL_RECORD_MS };
    // The notice speaks of the suspension's end, not of the kill record's.
    kill.notice = { ...noticeOf({ ...kill, until }), action: until ? 'stream_suspend' : 'stream_kill' };
    // Start listening for the nodes' confirmations before the kill goes out.
    const acks = this.d.collectKillAcks(doc.streamId, KILL_ACK_WINDOW_MS);
    try {
      // All at once: the stream document's write is what every node's viewers hear of (its wake-up
      // carries it), so it must not wait behind the sanction writes — one Redis hop, not three.
      // The publish hook refuses the key on either (the ended document, or the kill sanction).
      // The document goes first, so other nodes handle its wake-up before the sanctions'.
      await Promise.all([
        this.d.streams.end(doc, 'killed', caseId),
        this.d.store.put(kill),
        until ? this.d.store.put({ ...base, id: `${caseId}:suspend`, kind: 'stream_suspend', until }) : undefined,
      ]);
    } catch (e) {
      if (e instanceof SharedConfigUnavailable) return fail('unavailable', 'stream state is unreachable; the kill did not go out. Try again.');
      throw e;
    }
    const hook = { armed: true, at: new Date().toISOString() };
    const [nodes, mediaServer] = await Promise.all([acks, this.d.dropPublisher(doc)]);
    // With a category and no explicit suspension, the policy's livestream ladder decides the rest.
    let policyAction: string | undefined;
    if (p.category && !p.suspendDays) {
      try {
        const r = await recordViolation(this.d, { userId: doc.user.id, category: p.category, at: now, room: doc.room, source: 'moderator', live: true }, this.actor(conn), p.reason);
        policyAction = r.decision.notice.action;
      } catch (e) {
        if (!(e instanceof StoreUnavailableError)) throw e;
      }
    }
    this.d.audit.append({
      kind: 'sanction',
      action: 'stream_kill',
      ...(p.category ? { category: p.category } : {}),
      actor: this.actor(conn),
      subject: { userId: doc.user.id, room: doc.room, streamId: doc.streamId },
      caseId,
      sanctionId: kill.id,
      policy: 'moderator',
      restriction: until ? `stream_kill+stream_suspend:${p.suspendDays}d` : 'stream_kill',
      ...(p.suspendDays ? { durationSec: p.suspendDays * 86_400 } : {}),
      facts: p.reason,
      automatedDetection: false,
      automatedDecision: false,
      ground: p.category ?? 'moderator judgement',
      redress: kill.appealable ? 'appeal' : 'not appealable',
    });
    return { ok: true, streamId: doc.streamId, caseId, surfaces: { nodes, hook, mediaServer }, ...(policyAction ? { policyAction } : {}) };
  }

  private isModerator(conn: Conn): boolean {
    return conn.user.roles.some((r) => r === 'moderator' || r === 'admin');
  }

  private async messageDelete(conn: Conn, p: z.infer<(typeof adminSchemas)['message:delete']>): Promise<AnyReply> {
    this.d.deliverToRoom(p.room, 'message:deleted', { room: p.room, id: p.messageId, ...(p.reason ? { reason: p.reason } : {}) });
    this.d.audit.append({ kind: 'admin', action: 'message:delete', actor: this.actor(conn), subject: { room: p.room, messageId: p.messageId }, ...(p.reason ? { facts: p.reason } : {}), automatedDetection: false, automatedDecision: false });
    return { ok: true };
  }

  private async chatClear(conn: Conn, p: z.infer<(typeof adminSchemas)['chat:clear']>): Promise<AnyReply> {
    this.d.deliverToRoom(p.room, 'chat:cleared', { room: p.room });
    this.d.audit.append({ kind: 'admin', action: 'chat:clear', actor: this.actor(conn), subject: { room: p.room }, automatedDetection: false, automatedDecision: false });
    return { ok: true };
  }

  private queueList(conn: Conn, p: z.infer<(typeof adminSchemas)['queue:list']>): AnyReply {
    if (!this.isModerator(conn) && p.room !== undefined && !conn.user.owns.includes(p.room)) return fail('forbidden', 'you do not own this room');
    const items = this.d.queue.list({ room: p.room, rooms: this.isModerator(conn) ? undefined : conn.user.owns, limit: p.limit });
    return { ok: true, items };
  }

  private async queueDecide(conn: Conn, p: z.infer<(typeof adminSchemas)['queue:decide']>): Promise<AnyReply> {
    const item = this.d.queue.get(p.itemId);
    if (!item) return fail('not_found', 'no such queue item (decided already?)');
    if (!this.isModerator(conn)) return fail('forbidden', 'queue decisions need the moderator or admin role');
    const category = p.category ?? item.category;
    const policy = this.d.policy();
    let caseId: string | undefined;
    if (p.decision === 'approve') {
      // A held message goes out now; reported content stays (and a user hidden by reports is unhidden).
      if (item.kind === 'held' && item.message) this.d.deliverToRoom(item.message.room, 'message', item.message, item.userId);
      if (item.hiddenSanctionId) {
        try {
          await this.d.store.lift(item.userId, item.hiddenSanctionId);
        } catch (e) {
          if (e instanceof StoreUnavailableError) return unavailable();
          throw e;
        }
      }
    } else {
      if (!isKnownCategory(policy, category)) return fail('invalid', `unknown category ${category}`, { issues: ['category: not in policy'] });
      if (item.kind === 'message_report' && item.room && item.messageId) this.d.deliverToRoom(item.room, 'message:deleted', { room: item.room, id: item.messageId, reason: 'removed after review' });
      try {
        const r = await recordViolation(this.d, { userId: item.userId, category, at: this.now(), source: 'moderator', ...(item.room ? { room: item.room } : {}), ...(item.messageId ? { messageId: item.messageId, evidence: [item.messageId] } : {}) }, this.actor(conn), p.reason ?? `review: ${category}`);
        caseId = r.caseId;
      } catch (e) {
        if (e instanceof StoreUnavailableError) return unavailable();
        throw e;
      }
    }
    try {
      await this.d.queue.remove(item.id);
    } catch (e) {
      if (e instanceof SharedConfigUnavailable) return fail('unavailable', 'the queue is unreachable; try again');
      throw e;
    }
    this.d.audit.append({
      kind: 'admin',
      action: `queue:${p.decision}`,
      category,
      actor: this.actor(conn),
      subject: { userId: item.userId, ...(item.room ? { room: item.room } : {}), ...(item.messageId ? { messageId: item.messageId } : {}) },
      ...(caseId ? { caseId } : {}),
      facts: `${item.kind} ${item.id}${p.reason ? `: ${p.reason}` : ''}`,
      automatedDetection: item.kind === 'held',
      automatedDecision: false,
    });
    return { ok: true, ...(caseId ? { caseId } : {}) };
  }

  private async auditQuery(p: z.infer<(typeof adminSchemas)['audit:query']>): Promise<AnyReply> {
    try {
      const entries = await this.d.audit.query({ ...(p.userId ? { userId: p.userId } : {}), ...(p.room ? { room: p.room } : {}), ...(p.since !== undefined ? { since: p.since } : {}), ...(p.limit ? { limit: p.limit } : {}) });
      return { ok: true, entries };
    } catch (e) {
      return fail('invalid', (e as Error).message.slice(0, 200), { issues: ['since: not a time'] });
    }
  }

  private feedSubscribe(conn: Conn, p: z.infer<(typeof adminSchemas)['feed:subscribe']>): AnyReply {
    // Owners see their own rooms only, whatever they ask for.
    const rooms = this.isModerator(conn) ? p.rooms : (p.rooms ?? conn.user.owns).filter((r) => conn.user.owns.includes(r));
    this.d.subscribeFeed(conn, rooms);
    return { ok: true, ...(rooms ? { rooms } : {}) };
  }

  private async terms(conn: Conn, event: 'terms:add' | 'terms:remove' | 'terms:list', p: never): Promise<AnyReply> {
    const q = p as { room?: string; terms?: unknown[]; category?: string };
    const scope = scopeOf(q.room);
    const current = (this.d.sharedConfig.get('terms', scope) as Term[] | undefined) ?? [];
    if (event === 'terms:list') return { ok: true, terms: current };
    let next: Term[];
    let count: number;
    try {
      if (event === 'terms:add') ({ terms: next, added: count } = termsAfterAdd(current, scope, p));
      else ({ terms: next, removed: count } = termsAfterRemove(current, scope, q.terms as string[]));
    } catch (e) {
      if (e instanceof TermListError) return fail('invalid', e.message, { issues: e.issues ?? [e.message] });
      throw e;
    }
    try {
      await this.d.sharedConfig.set('terms', scope, next.length ? next : undefined);
    } catch (e) {
      if (e instanceof SharedConfigUnavailable) return fail('unavailable', 'the configuration store is unreachable; try again');
      throw e;
    }
    this.d.audit.append({ kind: 'admin', action: event, ...(q.category ? { category: q.category } : {}), actor: this.actor(conn), subject: q.room ? { room: q.room } : {}, facts: `${count} term(s) ${event === 'terms:add' ? 'added' : 'removed'} (${scope})`, automatedDetection: false, automatedDecision: false });
    return { ok: true, count };
  }

  private async hashes(conn: Conn, event: 'hashes:add' | 'hashes:remove', p: never): Promise<AnyReply> {
    if (!this.isModerator(conn)) return fail('forbidden', 'hash banks need the moderator or admin role');
    const q = p as { hashes?: string[]; image?: string | Uint8Array; category: string; algorithm?: 'pdq' | 'blockhash'; mode?: 'enabled' | 'shadow' };
    const policy = this.d.policy();
    if (!isKnownCategory(policy, q.category)) return fail('invalid', `unknown category ${q.category}`, { issues: ['category: not in policy'] });
    const current = this.d.sharedConfig.get('banks', BANKS_KEY) as BanksSnapshot | undefined;
    let next: BanksSnapshot | undefined = current;
    let count = 0;
    const hashesOf: { algorithm: 'pdq' | 'blockhash'; hexes: string[] }[] = [];
    if (q.hashes?.length) hashesOf.push({ algorithm: q.algorithm ?? 'pdq', hexes: q.hashes.map((h) => h.toLowerCase()) });
    if (event === 'hashes:add' && q.image !== undefined) {
      const bytes = typeof q.image === 'string' ? Buffer.from(q.image, 'base64') : q.image;
      try {
        const h = await this.d.hashImage(bytes);
        hashesOf.push({ algorithm: 'pdq', hexes: [h.pdq] }, { algorithm: 'blockhash', hexes: [h.blockhash] });
      } catch (e) {
        return fail('invalid', `image: ${(e as Error).message}`, { issues: ['image: cannot be decoded'] });
      }
    }
    try {
      for (const h of hashesOf) {
        if (event === 'hashes:add') {
          const r = banksAfterAdd(next, { category: q.category, severity: this.d.severityOf(q.category), algorithm: h.algorithm, hexes: h.hexes, ...(q.mode ? { mode: q.mode } : {}) });
          next = r.snapshot;
          count += r.added;
        } else {
          const r = banksAfterRemove(next, { category: q.category, algorithm: h.algorithm, hexes: h.hexes });
          next = r.snapshot;
          count += r.removed;
        }
      }
    } catch (e) {
      if (e instanceof BankError) return fail('invalid', e.message, { issues: [e.message] });
      throw e;
    }
    try {
      if (next !== current) await this.d.sharedConfig.set('banks', BANKS_KEY, next);
    } catch (e) {
      if (e instanceof SharedConfigUnavailable) return fail('unavailable', 'the configuration store is unreachable; try again');
      throw e;
    }
    this.d.audit.append({ kind: 'admin', action: event, category: q.category, actor: this.actor(conn), facts: `${count} hash(es) ${event === 'hashes:add' ? 'added' : 'removed'}`, evidence: { hashes: hashesOf.flatMap((h) => h.hexes.slice(0, 20)) }, automatedDetection: false, automatedDecision: false });
    return { ok: true, count };
  }

  private async roomUpdate(conn: Conn, p: z.infer<(typeof adminSchemas)['room:update']>): Promise<AnyReply> {
    const current = (this.d.sharedConfig.get('room', p.room) as Partial<RoomSettings> | undefined) ?? {};
    const next = { ...current, ...p.settings };
    try {
      await this.d.sharedConfig.set('room', p.room, next);
    } catch (e) {
      if (e instanceof SharedConfigUnavailable) return fail('unavailable', 'the configuration store is unreachable; try again');
      throw e;
    }
    this.d.audit.append({
      kind: 'admin',
      action: 'room:update',
      actor: this.actor(conn),
      subject: { room: p.room },
      facts: JSON.stringify(p.settings),
      automatedDetection: false,
      automatedDecision: false,
    });
    return { ok: true, settings: { ...DEFAULT_ROOM_SETTINGS, ...next } };
  }

  private async get(p: z.infer<(typeof adminSchemas)['user:get']>): Promise<AnyReply> {
    const sanctions = this.d.store.active(p.userId);
    let strikes: unknown[] = [];
    try {
      const h = await this.d.store.history(p.userId);
      const now = this.now();
      strikes = h.strikes.filter((s) => s.expiresAt > now);
    } catch (e) {
      if (!(e instanceof StoreUnavailableError)) throw e;
    }
    const recent = await this.d.audit.query({ userId: p.userId, limit: 20 }).catch(() => []);
    const seen = this.d.seen(p.userId);
    return { ok: true, sanctions, strikes, recent, ...(seen ? { seen } : {}) };
  }
}

function policyAppealable(policy: Policy, category: string): boolean {
  const id = resolveCategory(policy, category);
  return id ? (categorySettings(policy, id)?.appealable ?? true) : true;
}

function restrictionOf(s: Sanction): string {
  if (s.kind === 'restrict') return `restrict:${(s.features ?? []).join(',')}`;
  if (s.kind === 'mute' && s.room) return `mute:room:${s.room}`;
  return s.kind;
}
