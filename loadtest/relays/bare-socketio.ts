/**
 * bare-socketio: the common-practice baseline for benchmark scenario 1. socket.io 4.8 on its
 * default engine (node:http + ws, no compression), the same events as modgate's namespace `/`
 * answered through socket.io acks, no auth and no checks.
 *
 *   PORT=0 node --import tsx loadtest/relays/bare-socketio.ts   → prints "READY <port>"
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';

type Ack = (reply: object) => void;

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';

// socket.io takes over /socket.io/ and hands every other request to this handler.
const httpServer = http.createServer((req, res) => {
  if (req.url === '/readyz' || req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
  } else {
    res.writeHead(404).end();
  }
});
const io = new Server(httpServer, { serveClient: false });

let connections = 0;
let messages = 0;

io.on('connection', (socket) => {
  const n = ++connections;
  const user = { id: `u${n}`, name: `user ${n}` };
  socket.on('room:join', (data: { room?: unknown } | undefined, ack?: Ack) => {
    const room = String(data?.room);
    void socket.join(room);
    if (typeof ack === 'function') ack({ ok: true, room, settings: {}, live: null });
  });
  socket.on('message:send', (data: { room?: unknown; text?: unknown } | undefined, ack?: Ack) => {
    const room = String(data?.room);
    const id = `m${++messages}`;
    // io.to (not socket.to) so the sender gets its own message too, as in modgate.
    io.to(room).emit('message', { id, room, user, text: data?.text, ts: Date.now() });
    if (typeof ack === 'function') ack({ ok: true, id, status: 'delivered' });
  });
});

httpServer.listen(port, host, () => {
  console.log(`READY ${(httpServer.address() as AddressInfo).port}`);
});
process.once('SIGTERM', () => process.exit(0));
