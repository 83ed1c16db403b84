// @ts-check
/**
 * socket.io (protocol v5) over Engine.IO v4 on a plain WebSocket, for k6 — no socket.io-client.
 * Transport-agnostic: the client is given a `send(text)` function and is fed every text frame.
 *
 * The wire, websocket transport only (`/socket.io/?EIO=4&transport=websocket`), one Engine.IO
 * packet per WebSocket frame:
 *   server → `0{"sid","upgrades":[],"pingInterval","pingTimeout","maxPayload"}`   Engine.IO open
 *   client → `40{"token":"..."}`               socket.io CONNECT to namespace `/`, auth payload
 *            `40/admin,{"token":"..."}`        ... to namespace `/admin`
 *   server → `40{"sid":"..."}`                 connected;  `44{"message","data"}` connect_error
 *   client → `42["event",data]`                event;  `42<id>["event",data]` event wanting an ack
 *   server → `43<id>[reply]`                   the ack;  `42["event",data]` an event
 *   server → `2`  client → `3`                 Engine.IO ping / pong (the server pings)
 *   `41` (either side)                         namespace disconnect;  `1` Engine.IO close
 * Binary packets (`45`, `46`) are not supported: modgate accepts images as base64 strings.
 */

/** Engine.IO v4 packet types (first character of a frame). */
export const EIO = Object.freeze({ OPEN: '0', CLOSE: '1', PING: '2', PONG: '3', MESSAGE: '4', UPGRADE: '5', NOOP: '6' });

/** socket.io v5 packet types (first character after the Engine.IO `4`). */
export const SIO = Object.freeze({ CONNECT: 0, DISCONNECT: 1, EVENT: 2, ACK: 3, CONNECT_ERROR: 4, BINARY_EVENT: 5, BINARY_ACK: 6 });

/**
 * @typedef {object} SioPacket
 * @property {number} type        one of SIO
 * @property {string} nsp         namespace, "/" when absent
 * @property {number} [id]        ack id
 * @property {any} [data]         decoded JSON payload
 */

/**
 * The WebSocket URL of the socket.io endpoint for a base URL like ws://host:8080.
 * @param {string} base
 * @param {string} [path]   socket.io path, default "/socket.io/"
 * @returns {string}
 */
export function socketIoUrl(base, path) {
  return `${base}${path || '/socket.io/'}?EIO=4&transport=websocket`;
}

/**
 * A socket.io packet as one Engine.IO message frame.
 * @param {number} type
 * @param {string} nsp
 * @param {number | undefined} id
 * @param {unknown} [data]
 * @returns {string}
 */
export function encodePacket(type, nsp, id, data) {
  let s = EIO.MESSAGE + String(type);
  if (nsp && nsp !== '/') s += `${nsp},`;
  if (id !== undefined) s += String(id);
  if (data !== undefined) s += JSON.stringify(data);
  return s;
}

/**
 * Decodes the socket.io packet inside an Engine.IO message frame (the text after the `4`).
 * Throws on a malformed packet.
 * @param {string} text
 * @returns {SioPacket}
 */
export function decodePacket(text) {
  const type = Number(text.charAt(0));
  if (!(type >= 0 && type <= 6) || text.length === 0) throw new Error(`bad socket.io packet type in ${text.slice(0, 40)}`);
  if (type === SIO.BINARY_EVENT || type === SIO.BINARY_ACK) throw new Error('binary socket.io packets are not supported');
  let i = 1;
  let nsp = '/';
  if (text.charAt(i) === '/') {
    const comma = text.indexOf(',', i);
    const end = comma === -1 ? text.length : comma;
    nsp = text.slice(i, end);
    i = comma === -1 ? end : end + 1;
  }
  let digits = '';
  while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) digits += text.charAt(i++);
  /** @type {SioPacket} */
  const packet = { type, nsp };
  if (digits) packet.id = Number(digits);
  if (i < text.length) packet.data = JSON.parse(text.slice(i));
  return packet;
}

/**
 * @typedef {object} SocketIoHandlers
 * @property {() => void} [connect]                      namespace connected
 * @property {(err: any) => void} [connectError]         CONNECT_ERROR: `{ message, data }` (modgate: data `{ code, ... }`)
 * @property {(reason: string) => void} [disconnect]     the server disconnected the namespace or closed Engine.IO
 * @property {(event: string, args: any[]) => void} [event]   any event from the server
 * @property {(problem: string) => void} [protocolError] a frame this client could not understand
 */

/** socket.io client for one namespace, on a WebSocket the caller owns. */
export class SocketIoClient {
  /**
   * @param {(text: string) => void} send   writes one text frame
   * @param {{ namespace?: string, auth?: Record<string, unknown>, handlers?: SocketIoHandlers }} opts
   */
  constructor(send, opts) {
    this.send = send;
    this.nsp = opts.namespace || '/';
    this.auth = opts.auth;
    /** @type {SocketIoHandlers} */
    this.handlers = opts.handlers || {};
    this.nextAck = 0;
    /** @type {Record<number, (args: any[]) => void>} */
    this.acks = {};
    this.connected = false;
    /** Engine.IO session id and timings from the open packet. */
    this.sid = '';
    this.pingIntervalMs = 0;
  }

  /**
   * Feed one text frame from the WebSocket.
   * @param {string} frame
   */
  handleFrame(frame) {
    const kind = frame.charAt(0);
    switch (kind) {
      case EIO.OPEN: {
        try {
          const open = JSON.parse(frame.slice(1));
          this.sid = String(open.sid);
          this.pingIntervalMs = Number(open.pingInterval) || 0;
        } catch (e) {
          this.problem(`bad Engine.IO open packet: ${frame.slice(0, 80)}`);
        }
        // Connect the namespace, with the auth payload (socket.io-client's `auth` option).
        this.send(encodePacket(SIO.CONNECT, this.nsp, undefined, this.auth || undefined));
        return;
      }
      case EIO.PING:
        this.send(EIO.PONG + frame.slice(1));
        return;
      case EIO.CLOSE:
        this.lost('transport close');
        return;
      case EIO.NOOP:
      case EIO.PONG:
        return;
      case EIO.MESSAGE:
        break;
      default:
        this.problem(`unexpected Engine.IO packet: ${frame.slice(0, 80)}`);
        return;
    }
    /** @type {SioPacket} */
    let p;
    try {
      p = decodePacket(frame.slice(1));
    } catch (e) {
      this.problem(`${String(e)}: ${frame.slice(0, 80)}`);
      return;
    }
    if (p.nsp !== this.nsp) return; // another namespace multiplexed on this connection: not ours
    switch (p.type) {
      case SIO.CONNECT:
        this.connected = true;
        if (this.handlers.connect) this.handlers.connect();
        return;
      case SIO.CONNECT_ERROR:
        if (this.handlers.connectError) this.handlers.connectError(p.data);
        return;
      case SIO.DISCONNECT:
        this.lost('io server disconnect');
        return;
      case SIO.ACK: {
        const cb = p.id === undefined ? undefined : this.acks[p.id];
        if (!cb || p.id === undefined) {
          this.problem(`ack for unknown id: ${frame.slice(0, 80)}`);
          return;
        }
        delete this.acks[p.id];
        cb(Array.isArray(p.data) ? p.data : [p.data]);
        return;
      }
      case SIO.EVENT: {
        if (!Array.isArray(p.data) || typeof p.data[0] !== 'string') {
          this.problem(`bad event packet: ${frame.slice(0, 80)}`);
          return;
        }
        if (this.handlers.event) this.handlers.event(p.data[0], p.data.slice(1));
        // The server asking us for an ack is not part of modgate's protocol: answer empty.
        if (p.id !== undefined) this.send(encodePacket(SIO.ACK, this.nsp, p.id, []));
        return;
      }
      default:
        this.problem(`unexpected socket.io packet: ${frame.slice(0, 80)}`);
    }
  }

  /**
   * Emit an event; `ack` (when given) gets the server's acknowledgement arguments.
   * @param {string} event
   * @param {unknown} data
   * @param {(args: any[]) => void} [ack]
   */
  emit(event, data, ack) {
    let id;
    if (ack) {
      id = this.nextAck++;
      this.acks[id] = ack;
    }
    this.send(encodePacket(SIO.EVENT, this.nsp, id, [event, data]));
  }

  /** Leave the namespace (the caller then closes the WebSocket). */
  disconnect() {
    if (this.connected) this.send(encodePacket(SIO.DISCONNECT, this.nsp, undefined));
    this.connected = false;
  }

  /** @param {string} reason */
  lost(reason) {
    const was = this.connected;
    this.connected = false;
    if (was && this.handlers.disconnect) this.handlers.disconnect(reason);
  }

  /** @param {string} what */
  problem(what) {
    if (this.handlers.protocolError) this.handlers.protocolError(what);
  }
}
