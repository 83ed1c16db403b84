/**
 * The v1 wire contract (../shared/PROTOCOL.md) as code: error codes, payload schemas and typed event
 * maps. Client authors import the types from `modgate/protocol`; the gateway validates every inbound
 * payload with the schemas here, so the two can never drift apart.
 */
import { z } from 'zod';

/** Stable error codes (PROTOCOL.md "Replies"). Tests match on these, never on message text. */
export const ERROR_CODES = [
  'invalid',
  'unauthorized',
  'forbidden',
  'not_found',
  'too_large',
  'rate_limited',
  'slow_mode',
  'muted',
  'restricted',
  'suspended',
  'banned',
  'blocked',
  'unavailable',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  [detail: string]: unknown;
}
export type Ok<T extends object = object> = { ok: true } & T;
export type Fail = { ok: false; error: ErrorBody };
export type Reply<T extends object = object> = Ok<T> | Fail;
/** Any reply, whatever its success fields (what the dispatcher handles). */
export type AnyReply = Ok<Record<string, unknown>> | Fail;

export function fail(code: ErrorCode, message: string, details?: Record<string, unknown>): Fail {
  return { ok: false, error: { ...details, code, message } };
}

/** Limits fixed by the protocol's defaults; deployments may lower them via config. */
export const ROOM_ID = /^[a-z0-9][a-z0-9:_-]{0,63}$/;
export const DEFAULT_MAX_TEXT = 500;
export const DEFAULT_MAX_IMAGE_BYTES = 1024 * 1024;
/** PROTOCOL.md: a user's own comment filter holds at most 200 terms. */
export const MAX_USER_FILTER_TERMS = 200;

const roomId = z.string().regex(ROOM_ID, 'room id must match ^[a-z0-9][a-z0-9:_-]{0,63}$');
const userId = z.string().min(1).max(128);
/**
 * base64 string (raw WS, socket.io) or binary (socket.io attachments arrive as Buffer). The byte cap
 * is checked by the gateway after decoding so that an oversize image gets `too_large`, not `invalid`;
 * the transport's frame cap bounds what reaches the schema at all.
 */
const image = z.union([z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'image must be base64'), z.instanceof(Uint8Array)]);

export const clientSchemas = {
  'room:join': z.strictObject({ room: roomId }),
  'room:leave': z.strictObject({ room: roomId }),
  'message:send': z
    .strictObject({
      room: roomId,
      text: z.string().max(DEFAULT_MAX_TEXT).optional(),
      image: image.optional(),
      clientId: z.string().max(64).optional(),
    })
    .refine((m) => m.text !== undefined || m.image !== undefined, { message: 'text or image is required' }),
  'user:block': z.strictObject({ userId }),
  'user:unblock': z.strictObject({ userId }),
  'filter:set': z.strictObject({ terms: z.array(z.string().trim().min(1).max(64)).max(MAX_USER_FILTER_TERMS) }),
  'message:report': z.strictObject({ room: roomId, messageId: z.string().min(1).max(128), category: z.string().min(1).max(64), note: z.string().max(500).optional() }),
  'user:report': z.strictObject({ userId, category: z.string().min(1).max(64), note: z.string().max(500).optional(), room: roomId.optional() }),
  'stream:start': z.strictObject({ room: roomId, title: z.string().max(140).optional() }),
  'stream:end': z.strictObject({ streamId: z.string().min(1).max(64) }),
  'stream:frame': z.strictObject({ streamId: z.string().min(1).max(64), image }),
} as const;

export type ClientEventName = keyof typeof clientSchemas;
export type ClientPayload<E extends ClientEventName> = z.infer<(typeof clientSchemas)[E]>;

// ---- what the gateway sends -------------------------------------------------------------------

export interface RoomSettings {
  slowModeSec: number;
  linksAllowed: boolean;
}
export interface LiveStream {
  streamId: string;
  title: string;
  user: { id: string; name: string };
}
export interface ChatMessage {
  id: string;
  room: string;
  user: { id: string; name: string };
  text?: string;
  image?: string;
  ts: number;
}
export interface Notice {
  caseId: string;
  action: 'warn' | 'remove' | 'mute' | 'restrict' | 'suspend' | 'ban' | 'stream_kill' | 'stream_suspend' | 'support';
  category: string;
  reason: string;
  policy: string;
  until?: string;
  strikes?: number;
  appealable: boolean;
  appealUrl?: string;
}

export interface ReplyMap {
  'room:join': Reply<{ room: string; settings: RoomSettings; live: LiveStream | null }>;
  'room:leave': Reply;
  'message:send': Reply<{ id: string; status: 'delivered' | 'held'; text?: string }>;
  'user:block': Reply;
  'user:unblock': Reply;
  'filter:set': Reply<{ count: number }>;
  'message:report': Reply<{ reportId: string }>;
  'user:report': Reply<{ reportId: string }>;
  'stream:start': Reply<{ streamId: string }>;
  'stream:end': Reply;
  'stream:frame': Reply;
}

/** Events the gateway emits to clients (namespace `/` and `/ws`). */
export interface ServerToClientEvents {
  message: (m: ChatMessage) => void;
  'message:deleted': (e: { room: string; id: string; reason?: string }) => void;
  'chat:cleared': (e: { room: string }) => void;
  'room:settings': (e: { room: string; settings: RoomSettings }) => void;
  'stream:started': (e: { room: string; streamId: string; title: string; user: { id: string; name: string } }) => void;
  'stream:ended': (e: { room: string; streamId: string; reason: 'ended' | 'killed' }) => void;
  'moderation:notice': (n: Notice) => void;
  'session:ended': (e: { code: ErrorCode | 'shutdown'; notice?: Notice }) => void;
  /** modgate extension: the node is shutting down; reconnect (to another node) after the close. */
  'server:shutdown': (e: { reconnect: boolean }) => void;
  /** A request the gateway could not answer with a reply (no ack, or an unparseable frame). */
  error: (e: ErrorBody) => void;
}

/** Events clients send, with their ack (socket.io) — typed for `socket.io-client`. */
export type ClientToServerEvents = {
  [E in ClientEventName]: (data: ClientPayload<E>, ack: (reply: ReplyMap[E]) => void) => void;
};

/** Claims modgate reads from a JWT (PROTOCOL.md "Authentication"). */
export const ROLES = ['user', 'moderator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const claimsSchema = z.object({
  sub: z.string().min(1).max(128),
  name: z.string().max(64).optional(),
  roles: z.array(z.enum(ROLES)).max(8).optional(),
  owns: z.array(roomId).max(256).optional(),
  device: z.string().max(128).optional(),
  age_verified: z.boolean().optional(),
  email_verified: z.boolean().optional(),
});

/** The authenticated identity attached to a connection. Comes only from a verified token. */
export interface Identity {
  id: string;
  name: string;
  roles: readonly Role[];
  owns: readonly string[];
  device?: string;
  ageVerified: boolean;
  emailVerified: boolean;
}

/** Render zod issues as `path: message` items for the `invalid` reply. */
export function zodIssues(error: z.ZodError): string[] {
  return error.issues.slice(0, 10).map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`);
}
