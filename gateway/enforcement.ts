/**
 * Enforcing live sanction state: the per-message gate (synchronous, from this node's copy), the
 * handshake refusal, and what a node does when a sanction reaches it (end sessions, send notices).
 */
import type { Config } from './config.ts';
import type { Conn } from './connection.ts';
import { fail, type Fail, type Notice } from './protocol.ts';
import type { Sanction, SanctionStore } from './sanction-store.ts';

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** The notice (statement of reasons) for a sanction that did not come with one. */
export function noticeOf(s: Sanction, _config?: Pick<Config, 'nodeId'>): Notice {
  if (s.notice) return s.notice;
  const action = s.kind === 'shadow' ? 'restrict' : s.kind;
  const until = iso(s.until);
  return {
    caseId: s.caseId,
    action,
    category: s.category ?? 'other',
    reason: s.reason,
    policy: s.policy ?? 'moderator',
    ...(until ? { until } : {}),
    appealable: s.appealable ?? true,
  };
}

export type GateResult = Fail | 'shadow' | null;

/**
 * May this user send this kind of message to this room now? Runs on every message: one Map lookup
 * when the user has no sanction, no allocation, no await.
 */
export function sanctionGate(store: SanctionStore): (conn: Conn, room: string, kind: 'text' | 'image') => GateResult {
  return (conn, room, kind) => {
    const list = store.active(conn.user.id);
    if (list.length === 0) return null;
    let shadow = false;
    for (const s of list) {
      switch (s.kind) {
        case 'ban':
          return fail('banned', 'you are banned', { notice: noticeOf(s) });
        case 'suspend':
          return fail('suspended', 'your account is suspended', { until: iso(s.until) ?? null, notice: noticeOf(s) });
        case 'mute':
          if (!s.room || s.room === room) return fail('muted', s.room ? 'you are muted in this room' : 'you are muted', { until: iso(s.until) ?? null, ...(s.room ? { room: s.room } : {}) });
          break;
        case 'restrict': {
          const f = s.features ?? [];
          if (f.includes('chat')) return fail('restricted', 'chat is restricted for you', { feature: 'chat', until: iso(s.until) ?? null });
          if (kind === 'image' && f.includes('upload')) return fail('restricted', 'uploads are restricted for you', { feature: 'upload', until: iso(s.until) ?? null });
          break;
        }
        case 'shadow':
          shadow = true;
          break;
        default:
          break;
      }
    }
    return shadow ? 'shadow' : null;
  };
}

/** Why a handshake must be refused (ban or suspension, by user, device or IP), or null. */
export function handshakeRefusal(store: SanctionStore, userId: string, device: string | undefined, ip: string): { status: 403; code: 'banned' | 'suspended'; notice: Notice; until?: string } | null {
  for (const s of store.active(userId)) {
    if (s.kind === 'ban') return { status: 403, code: 'banned', notice: noticeOf(s) };
    if (s.kind === 'suspend') {
      const until = iso(s.until);
      return { status: 403, code: 'suspended', notice: noticeOf(s), ...(until ? { until } : {}) };
    }
  }
  const evasion = store.banFor(device, ip);
  if (evasion) return { status: 403, code: 'banned', notice: { ...noticeOf(evasion), category: 'ban_evasion' } };
  return null;
}

/** Does this sanction end the sessions it touches? */
export function endsSession(s: Sanction, now = Date.now()): 'banned' | 'suspended' | null {
  if (s.start > now || (s.until !== undefined && s.until <= now)) return null;
  return s.kind === 'ban' ? 'banned' : s.kind === 'suspend' ? 'suspended' : null;
}

/** Connections a sanction reaches on this node: the user's own, plus device/IP matches for bans. */
export function touchedConnections(s: Sanction, conns: Iterable<Conn>): Conn[] {
  const out: Conn[] = [];
  for (const c of conns) {
    if (c.user.id === s.userId || (s.kind === 'ban' && ((s.device && c.user.device === s.device) || (s.ip && c.ip === s.ip)))) out.push(c);
  }
  return out;
}
