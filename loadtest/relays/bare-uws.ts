/**
 * bare-uws: the floor for benchmark scenario 1. A minimal uWebSockets.js pub/sub relay on `/ws`
 * speaking the raw-WebSocket JSON frames of the modgate protocol, with no auth and no checks
 * beyond JSON.parse: whatever modgate spends above this is the price of moderation.
 *
 *   PORT=0 node --import tsx loadtest/relays/bare-uws.ts   → prints "READY <port>"
 */
import uWS from 'uWebSockets.js';

/** Per-socket send buffer before uWS skips a slow subscriber. Above the 64 KiB default so a
 *  scheduling stall of the (pinned, busy) load generator shows up as latency, not as loss. */
const MAX_BACKPRESSURE_BYTES = 1024 * 1024;

interface Conn {
  id: string;
  name: string;
}

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
// The uWS package here falls back to a slow pure-JS implementation (on top of ws) when its native
// binary does not match this Node build; that fallback lacks getParts. Measured against such a
// "floor", modgate would look fast for nothing: refuse to run instead.
if (typeof (uWS as { getParts?: unknown }).getParts !== 'function') {
  console.error('bare-uws: uWebSockets.js loaded its pure-JS fallback, not the native binary; no floor to measure');
  process.exit(1);
}

let connections = 0;
let messages = 0;
const decoder = new TextDecoder();

function reply(ws: uWS.WebSocket<Conn>, ack: unknown, data: object): void {
  if (typeof ack === 'number') ws.send(JSON.stringify({ ack, data }));
}

const app = uWS.App();
app
  .get('/readyz', (res) => {
    res.writeHeader('content-type', 'application/json').end('{"status":"ok"}');
  })
  .ws<Conn>('/ws', {
    compression: uWS.DISABLED,
    maxPayloadLength: 16 * 1024,
    maxBackpressure: MAX_BACKPRESSURE_BYTES,
    idleTimeout: 120,
    upgrade: (res, req, context) => {
      const n = ++connections;
      res.upgrade<Conn>(
        { id: `u${n}`, name: `user ${n}` },
        req.getHeader('sec-websocket-key'),
        req.getHeader('sec-websocket-protocol'),
        req.getHeader('sec-websocket-extensions'),
        context,
      );
    },
    message: (ws, message) => {
      let frame: { event?: unknown; data?: { room?: unknown; text?: unknown }; ack?: unknown };
      try {
        frame = JSON.parse(decoder.decode(message));
      } catch {
        return;
      }
      const room = String(frame.data?.room);
      switch (frame.event) {
        case 'room:join':
          ws.subscribe(`room/${room}`);
          reply(ws, frame.ack, { ok: true, room, settings: {}, live: null });
          break;
        case 'message:send': {
          const id = `m${++messages}`;
          const user = ws.getUserData();
          // app.publish (not ws.publish) so the sender gets its own message too, as in modgate.
          app.publish(
            `room/${room}`,
            JSON.stringify({
              event: 'message',
              data: { id, room, user: { id: user.id, name: user.name }, text: frame.data?.text, ts: Date.now() },
            }),
          );
          reply(ws, frame.ack, { ok: true, id, status: 'delivered' });
          break;
        }
        default:
          reply(ws, frame.ack, { ok: false, error: { code: 'invalid', message: 'unknown event' } });
      }
    },
  })
  .listen(host, port, (listenSocket) => {
    if (!listenSocket) {
      console.error(`bare-uws: cannot listen on ${host}:${port}`);
      process.exit(1);
    }
    console.log(`READY ${uWS.us_socket_local_port(listenSocket)}`);
    process.once('SIGTERM', () => {
      uWS.us_listen_socket_close(listenSocket);
      process.exit(0);
    });
  });
