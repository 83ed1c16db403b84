/**
 * Livestreams: which room is live, started and ended by its owner, killed by moderators (or by a
 * critical frame match), with the media server's publish hook answering from the same state.
 *
 * A stream is a document in the shared configuration (`streams`, keyed by room): every node learns
 * of a start, an end or a kill within a second (at once, normally) and tells its own members of the
 * room. The stream key a media server presents to the publish hook is the stream id.
 */
import { randomUUID } from 'node:crypto';
import type { LiveStream } from './protocol.ts';
import type { SharedConfig } from './shared-config.ts';
import type { Sanction, SanctionStore } from './sanction-store.ts';

export interface StreamDoc {
  streamId: string;
  room: string;
  title: string;
  user: { id: string; name: string };
  startedAt: number;
  endedAt?: number;
  reason?: 'ended' | 'killed';
  /** The case of the kill, when killed. */
  caseId?: string;
}

/** Why a user may not go live now, or null. */
export function livestreamRefusal(store: SanctionStore, userId: string, now = Date.now()): { code: 'restricted' | 'suspended' | 'banned'; until?: string } | null {
  const iso = (s: Sanction) => (s.until !== undefined ? { until: new Date(s.until).toISOString() } : {});
  for (const s of store.active(userId, now)) {
    if (s.kind === 'ban') return { code: 'banned' };
    if (s.kind === 'suspend') return { code: 'suspended', ...iso(s) };
    if (s.kind === 'stream_suspend') return { code: 'restricted', ...iso(s) };
    if (s.kind === 'restrict' && s.features?.includes('livestream')) return { code: 'restricted', ...iso(s) };
  }
  return null;
}

export class Streams {
  constructor(
    private readonly shared: SharedConfig,
    private readonly store: SanctionStore,
  ) {}

  /** The live stream of a room, for `room:join` replies. */
  live(room: string): LiveStream | null {
    const d = this.shared.get('streams', room) as StreamDoc | undefined;
    return d && d.endedAt === undefined ? { streamId: d.streamId, title: d.title, user: d.user } : null;
  }

  doc(room: string): StreamDoc | undefined {
    return this.shared.get('streams', room) as StreamDoc | undefined;
  }

  byId(streamId: string): StreamDoc | undefined {
    for (const d of this.shared.all('streams').values()) if ((d as StreamDoc).streamId === streamId) return d as StreamDoc;
    return undefined;
  }

  async start(room: string, user: { id: string; name: string }, title: string | undefined): Promise<StreamDoc> {
    const doc: StreamDoc = { streamId: `st_${randomUUID()}`, room, title: title ?? '', user, startedAt: Date.now() };
    await this.shared.set('streams', room, doc);
    return doc;
  }

  async end(doc: StreamDoc, reason: 'ended' | 'killed', caseId?: string): Promise<StreamDoc> {
    const ended: StreamDoc = { ...doc, endedAt: Date.now(), reason, ...(caseId ? { caseId } : {}) };
    await this.shared.set('streams', doc.room, ended);
    return ended;
  }

  /**
   * The publish hook's answer for a stream key: allowed only for a live stream whose owner may
   * stream now (not killed, not livestream-suspended or restricted, not banned or suspended).
   */
  mayPublish(streamKey: string): { ok: true; doc: StreamDoc } | { ok: false; reason: string } {
    const doc = this.byId(streamKey);
    if (!doc) return { ok: false, reason: 'unknown stream key' };
    if (doc.endedAt !== undefined) return { ok: false, reason: doc.reason === 'killed' ? 'stream was killed' : 'stream has ended' };
    const refusal = livestreamRefusal(this.store, doc.user.id);
    if (refusal) return { ok: false, reason: `streamer is ${refusal.code}` };
    return { ok: true, doc };
  }
}

/** The stream key a media server sends, from any of the supported hook formats. */
export function publishHookKey(contentType: string, body: string): { key: string; flavour: 'nginx-rtmp' | 'srs' | 'mediamtx' } | { error: string } {
  if (contentType.includes('application/json')) {
    let j: Record<string, unknown>;
    try {
      j = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return { error: 'body is not JSON' };
    }
    if (typeof j !== 'object' || j === null) return { error: 'body is not a JSON object' };
    // MediaMTX external auth: { user, password, ip, action, path, protocol, id, query }.
    if (typeof j.path === 'string' && typeof j.action === 'string') {
      if (j.action !== 'publish') return { error: `action ${j.action} is not publish` };
      const key = String(j.path).split('/').filter(Boolean).pop() ?? '';
      return key ? { key, flavour: 'mediamtx' } : { error: 'empty path' };
    }
    // SRS http_hooks on_publish: { action: 'on_publish', app, stream, param, ... }.
    if (typeof j.stream === 'string') {
      if (j.action !== undefined && j.action !== 'on_publish') return { error: `action ${String(j.action)} is not on_publish` };
      return { key: j.stream, flavour: 'srs' };
    }
    return { error: 'unrecognised JSON hook body' };
  }
  // nginx-rtmp on_publish: form fields (call, app, name, addr, ...); the stream key is `name`.
  const form = new URLSearchParams(body);
  const name = form.get('name');
  if (!name) return { error: 'form field "name" (the stream key) is missing' };
  return { key: name, flavour: 'nginx-rtmp' };
}
