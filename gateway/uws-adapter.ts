/**
 * A socket.io adapter bound to ONE uWS app.
 *
 * socket.io's `attachApp` patches `Adapter.prototype` globally so that room broadcasts go through the
 * app's native `publish` (no JS per recipient). The patch closes over the *last* app attached, so two
 * gateways in one process publish into each other's app. This subclass carries the same fast path
 * bound to its own app; the originals are captured at import, before any `attachApp` can patch them.
 */
import { Adapter, type BroadcastOptions, type Room, type SocketId } from 'socket.io-adapter';
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';

const SEPARATOR = '\x1f';
const { addAll, del, broadcast } = Adapter.prototype;

/** The engine.io internals the fast path needs (socket.io reaches into the same ones). */
type UwsSocket = { conn: { transport: { name: string; socket?: WebSocket<unknown> } } & NodeJS.EventEmitter; client: { writeToEngine(p: unknown, o: unknown): void } };

function uwsOf(socket: UwsSocket): WebSocket<unknown> | undefined {
  return socket.conn.transport.name === 'websocket' ? socket.conn.transport.socket : undefined;
}

export function uwsAdapterFor(app: TemplatedApp): typeof Adapter {
  return class UwsAdapter extends Adapter {
    private socketOf(id: SocketId): UwsSocket | undefined {
      const nsp = this.nsp as unknown as { sockets: Map<string, unknown>; _preConnectSockets?: Map<string, unknown> };
      return (nsp.sockets.get(id) ?? nsp._preConnectSockets?.get(id)) as UwsSocket | undefined;
    }

    override addAll(id: SocketId, rooms: Set<Room>): void {
      const isNew = !this.sids.has(id);
      addAll.call(this, id, rooms);
      const socket = this.socketOf(id);
      if (!socket) return;
      const ws = uwsOf(socket);
      if (ws) {
        if (isNew) ws.subscribe(this.nsp.name);
        for (const room of rooms) ws.subscribe(`${this.nsp.name}${SEPARATOR}${room}`);
        return;
      }
      if (isNew) {
        // A long-polling client joins its topics once it upgrades to WebSocket.
        socket.conn.on('upgrade', () => {
          const current = this.sids.get(id);
          const upgraded = uwsOf(socket);
          if (!current || !upgraded) return;
          upgraded.subscribe(this.nsp.name);
          for (const room of current) upgraded.subscribe(`${this.nsp.name}${SEPARATOR}${room}`);
        });
      }
    }

    override del(id: SocketId, room: Room): void {
      del.call(this, id, room);
      const socket = this.socketOf(id);
      const ws = socket && uwsOf(socket);
      if (ws) {
        try {
          ws.unsubscribe(`${this.nsp.name}${SEPARATOR}${room}`);
        } catch {
          // the uWS socket is already closed: nothing to unsubscribe
        }
      }
    }

    override broadcast(packet: any, opts: BroadcastOptions): void {
      if (opts.rooms.size > 1 || (opts.except?.size ?? 0) !== 0) return broadcast.call(this, packet, opts);
      const flags = opts.flags ?? {};
      packet.nsp = this.nsp.name;
      const encoded = (this as any).encoder.encode(packet) as (string | Buffer)[];
      const topic = opts.rooms.size === 0 ? this.nsp.name : `${this.nsp.name}${SEPARATOR}${String(opts.rooms.keys().next().value)}`;
      for (const e of encoded) {
        const isBinary = typeof e !== 'string';
        // "4" is the Engine.IO "message" packet type.
        app.publish(topic, isBinary ? e : '4' + e, isBinary);
      }
      // Long-polling clients are not on the uWS topic: write to them one by one.
      (this as unknown as { apply(o: BroadcastOptions, cb: (s: UwsSocket) => void): void }).apply(opts, (socket) => {
        if (socket.conn.transport.name !== 'websocket') {
          socket.client.writeToEngine(encoded, { preEncoded: true, volatile: flags.volatile, compress: flags.compress });
        }
      });
    }
  };
}
