// @ts-check
/**
 * A modgate protocol session for k6 scripts: requests with replies, and gateway events — the same
 * interface over either door:
 *   - 'raw':      the raw WebSocket doors `/ws` and `/ws/admin`, JSON frames
 *                 `{"event","data","ack"}` → `{"ack","data"}` / `{"event","data"}`; the token in an
 *                 `Authorization: Bearer` header (not `?token=`: URLs become k6 metric tags, and
 *                 a distinct URL per user would blow up their cardinality and leak tokens into outputs)
 *   - 'socketio': socket.io namespaces `/` and `/admin` (Engine.IO v4 framing in ./socketio.js),
 *                 the token in the CONNECT auth payload
 * and over either k6 WebSocket module:
 *   - openWs() here:                  `k6/ws` — blocks the VU until the connection closes; one
 *                                     connection per VU; in every k6 version
 *   - openWebSocket() in websockets.js: `k6/websockets` — event loop, several connections per VU
 *                                     (k6 ≥ 1.0; a separate file so that the other scripts do not
 *                                     depend on it)
 */
import ws from 'k6/ws';
import { baseUrl, brief, envString } from './lib.js';
import { SocketIoClient, socketIoUrl } from './socketio.js';

/**
 * @typedef {'raw' | 'socketio'} Kind
 * @typedef {'client' | 'admin'} Door
 */

/**
 * @typedef {object} Session
 * @property {Kind} kind
 * @property {(event: string, data: unknown, onReply?: (reply: any) => void) => void} request
 *   Sends a request; `onReply` gets the reply (`{ ok: true, ... }` or `{ ok: false, error }`).
 * @property {(event: string, handler: (data: any) => void) => void} on
 *   Handler for a gateway event (`message`, `stream:ended`, `error`, ...); one per event name.
 * @property {(ms: number, fn: () => void) => void} after   a timer bound to this connection
 * @property {() => void} close
 * @property {() => boolean} isOpen   ready and not closed yet
 */

/**
 * @typedef {object} SessionHandlers
 * @property {(s: Session) => void} ready           usable: WebSocket open (raw) / namespace connected (socket.io)
 * @property {(why: string) => void} [refused]      never became ready: handshake refused, connect_error, network
 * @property {(why: string) => void} [closed]       closed after ready, by anything but our own close()
 * @property {(what: string) => void} [protocolError]   a frame that did not parse
 */

/**
 * The door from `-e DOOR=raw|socketio`.
 * @param {Kind} fallback
 * @returns {Kind}
 */
export function kindFromEnv(fallback) {
  const v = envString('DOOR', fallback);
  if (v !== 'raw' && v !== 'socketio') throw new Error(`-e DOOR=${v}: raw (the /ws door) or socketio`);
  return v;
}

/**
 * @param {Kind} kind
 * @param {Door} door
 * @returns {string}
 */
export function sessionUrl(kind, door) {
  const base = baseUrl();
  if (kind === 'raw') return `${base}${door === 'admin' ? '/ws/admin' : '/ws'}`;
  return socketIoUrl(base);
}

/**
 * Handshake headers: the raw door reads `Authorization: Bearer`; socket.io gets its token in the
 * CONNECT packet instead.
 * @param {Kind} kind
 * @param {string} token
 * @returns {Record<string, string>}
 */
export function handshakeHeaders(kind, token) {
  /** @type {Record<string, string>} */
  const headers = {};
  if (kind === 'raw') headers.Authorization = `Bearer ${token}`;
  return headers;
}

/**
 * The protocol half of a session, independent of the WebSocket module: `transport` writes frames,
 * closes, and runs timers; the caller feeds back open / text / close.
 * @param {Kind} kind
 * @param {Door} door
 * @param {string} token
 * @param {SessionHandlers} handlers
 * @param {{ send(text: string): void, close(): void, after(ms: number, fn: () => void): void }} transport
 */
export function sessionCore(kind, door, token, handlers, transport) {
  let ready = false;
  let ended = false;
  let closing = false;
  let nextAck = 1;
  /** @type {Record<number, ((reply: any) => void) | undefined>} */
  const pending = {};
  /** @type {Record<string, (data: any) => void>} */
  const listeners = {};

  /** @param {string} event @param {any} data */
  const dispatch = (event, data) => {
    const fn = listeners[event];
    if (fn) fn(data);
  };
  /** @param {string} why */
  const refuse = (why) => {
    if (ended) return;
    ended = true;
    if (handlers.refused) handlers.refused(why);
  };
  /** @param {string} why */
  const lost = (why) => {
    if (ended) return;
    ended = true;
    if (!closing && handlers.closed) handlers.closed(why);
  };

  /** @type {SocketIoClient | undefined} */
  const sio =
    kind === 'socketio'
      ? new SocketIoClient((t) => transport.send(t), {
          namespace: door === 'admin' ? '/admin' : '/',
          auth: { token },
          handlers: {
            connect: () => {
              ready = true;
              handlers.ready(session);
            },
            connectError: (err) => {
              refuse(`connect_error: ${brief(err)}`);
              transport.close();
            },
            disconnect: (reason) => lost(`socket.io: ${reason}`),
            event: (event, args) => dispatch(event, args[0]),
            protocolError: (what) => {
              if (handlers.protocolError) handlers.protocolError(what);
            },
          },
        })
      : undefined;

  /** @type {Session} */
  const session = {
    kind,
    request(event, data, onReply) {
      if (ended) return;
      if (sio) {
        sio.emit(event, data, (args) => {
          if (onReply) onReply(args[0]);
        });
        return;
      }
      const ack = nextAck++;
      pending[ack] = onReply;
      transport.send(JSON.stringify({ event, data, ack }));
    },
    on(event, handler) {
      listeners[event] = handler;
    },
    after(ms, fn) {
      transport.after(Math.max(0, ms), fn);
    },
    close() {
      if (ended) return;
      closing = true;
      if (sio) sio.disconnect();
      transport.close();
    },
    isOpen() {
      return ready && !ended;
    },
  };

  return {
    session,
    /** The WebSocket is open. */
    opened() {
      if (kind === 'raw') {
        ready = true;
        handlers.ready(session);
      }
      // socket.io: wait for the Engine.IO open packet, then the namespace CONNECT reply.
    },
    /** @param {string} text */
    text(text) {
      if (sio) {
        sio.handleFrame(text);
        return;
      }
      /** @type {any} */
      let frame;
      try {
        frame = JSON.parse(text);
      } catch (e) {
        if (handlers.protocolError) handlers.protocolError(`non-JSON frame: ${text.slice(0, 100)}`);
        return;
      }
      if (frame !== null && typeof frame.ack === 'number') {
        const cb = pending[frame.ack];
        delete pending[frame.ack];
        if (cb) cb(frame.data);
      } else if (frame !== null && typeof frame.event === 'string') {
        dispatch(frame.event, frame.data);
      } else if (handlers.protocolError) {
        handlers.protocolError(`unexpected frame: ${text.slice(0, 100)}`);
      }
    },
    /** @param {string} why */
    closedBy(why) {
      if (ready) lost(why);
      else refuse(why);
    },
  };
}

/**
 * Opens a session with `k6/ws`. Blocks until the connection is closed, like `ws.connect`, and
 * returns its response (status 101 when the upgrade succeeded; null if k6 threw).
 * @param {Kind} kind
 * @param {Door} door
 * @param {string} token
 * @param {Record<string, string>} tags   k6 tags on the connection's metrics
 * @param {SessionHandlers} handlers
 * @returns {import('k6/ws').Response | null}
 */
export function openWs(kind, door, token, tags, handlers) {
  const params = { tags, headers: handshakeHeaders(kind, token) };
  /** @type {ReturnType<typeof sessionCore> | undefined} */
  let core;
  try {
    return ws.connect(sessionUrl(kind, door), params, (socket) => {
      const c = sessionCore(kind, door, token, handlers, {
        send: (t) => socket.send(t),
        close: () => socket.close(),
        after: (ms, fn) => socket.setTimeout(fn, ms),
      });
      core = c;
      socket.on('open', () => c.opened());
      socket.on('message', (m) => c.text(m));
      socket.on('close', (code) => c.closedBy(`closed (code ${code})`));
      socket.on('error', (e) => c.closedBy(`error: ${e.error()}`));
    });
  } catch (e) {
    if (core) core.closedBy(String(e));
    else if (handlers.refused) handlers.refused(String(e));
    return null;
  }
}

/**
 * Calls `send(n, intendedMs)` for n = 0 .. count-1 at `ratePerSec`, on a fixed schedule from now:
 * each timer sends everything that has come due (a late timer catches up with the intended times
 * it missed, so lateness shows as latency measured from `intendedMs`, not as a lower rate). Stops
 * early when the session closes. `done()` runs after the last send (not when the session closes).
 * @param {Session} s
 * @param {number} ratePerSec
 * @param {number} count
 * @param {(n: number, intendedMs: number) => void} send
 * @param {() => void} [done]
 */
export function sendOnSchedule(s, ratePerSec, count, send, done) {
  const start = Date.now();
  const interval = 1000 / ratePerSec;
  let n = 0;
  const tick = () => {
    const now = Date.now();
    while (n < count && s.isOpen() && start + n * interval <= now) {
      send(n, Math.round(start + n * interval));
      n++;
    }
    if (!s.isOpen()) return;
    if (n < count) s.after(start + n * interval - Date.now(), tick);
    else if (done) done();
  };
  tick();
}
