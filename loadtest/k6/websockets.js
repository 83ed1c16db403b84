// @ts-check
/**
 * modgate sessions over `k6/websockets` (k6 ≥ 1.0: the WebSocket API with a global event loop,
 * several connections per VU; k6 0.4x–0.5x call it `k6/experimental/websockets` — change the
 * import below for those). See session.js for the session interface.
 */
import { WebSocket } from 'k6/websockets';
import { setTimeout as k6SetTimeout } from 'k6/timers';
import { handshakeHeaders, sessionCore, sessionUrl } from './session.js';

/** @typedef {import('./session.js').Kind} Kind */
/** @typedef {import('./session.js').Door} Door */
/** @typedef {import('./session.js').Session} Session */
/** @typedef {import('./session.js').SessionHandlers} SessionHandlers */

/**
 * Opens a session with `k6/websockets`: returns at once; the VU's iteration ends when every
 * connection it opened is closed. Timers come from `k6/timers`.
 * @param {Kind} kind
 * @param {Door} door
 * @param {string} token
 * @param {Record<string, string>} tags
 * @param {SessionHandlers} handlers
 * @returns {Session}
 */
export function openWebSocket(kind, door, token, tags, handlers) {
  const params = { tags, headers: handshakeHeaders(kind, token) };
  const socket = new WebSocket(sessionUrl(kind, door), null, params);
  let open = false;
  const core = sessionCore(kind, door, token, handlers, {
    send: (t) => socket.send(t),
    close: () => socket.close(),
    after: (ms, fn) => {
      k6SetTimeout(() => {
        if (socket.readyState === WebSocket.OPEN) fn();
      }, ms);
    },
  });
  socket.onopen = () => {
    open = true;
    core.opened();
  };
  socket.onmessage = (e) => {
    if (e && typeof e.data === 'string') core.text(e.data);
  };
  socket.onclose = () => core.closedBy(open ? 'closed' : 'closed before opening');
  socket.onerror = (e) => core.closedBy(`error: ${e ? e.error : 'unknown'}`);
  return core.session;
}
