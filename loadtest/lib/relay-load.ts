/**
 * Contract between a relay scenario (which starts the server) and loadtest/load-generator.ts
 * (which loads it from a separate, pinned process). The config travels as JSON in the
 * LOADGEN_CONFIG environment variable; the result comes back as one stdout line
 * `RESULT <json>`.
 */

export const LOADGEN_CONFIG_ENV = 'LOADGEN_CONFIG';
/** Or: a file the generator waits for (it starts up while the server does, then reads it). */
export const LOADGEN_CONFIG_FILE_ENV = 'LOADGEN_CONFIG_FILE';
export const RESULT_PREFIX = 'RESULT ';

export interface LoadGenConfig {
  /** Label for messages only. */
  variant: string;
  /** `raw`: JSON frames over a plain WebSocket; `socketio`: socket.io-client, websocket transport. */
  client: 'raw' | 'socketio';
  /** raw: `ws://127.0.0.1:PORT/ws`; socketio: `http://127.0.0.1:PORT`. */
  url: string;
  /** When set, each connection carries its own HS256 JWT (distinct `sub`) signed with this. */
  jwtSecret?: string | undefined;
  /** pid of the server under test, whose CPU time is read from /proc over the measured window. */
  serverPid: number;
  rooms: number;
  /** Connections per room that only listen. */
  subscribersPerRoom: number;
  /** Connections per room that publish; they are room members too and receive every message. */
  publishersPerRoom: number;
  /** Messages per second per publisher connection. */
  ratePerPublisher: number;
  /** Messages (over all publishers) sent first and left out of every figure. */
  warmupMessages: number;
  /** Messages (over all publishers) that make the figures. */
  measuredMessages: number;
  /** Bytes of text per message. */
  textBytes: number;
  /** Connections opened at the same time while setting up. */
  connectConcurrency: number;
  /** Cap on setting up all connections and joins. */
  connectTimeoutMs: number;
  /** How long to wait for stragglers after the last send before calling them lost. */
  drainTimeoutMs: number;
  /** Above this event-loop utilisation over the measured window the generator is saturated. */
  maxGeneratorElu: number;
  /** A send later than this behind its intended time means the generator fell behind. */
  maxSendLagMs: number;
}

export interface LoadGenResult {
  variant: string;
  valid: boolean;
  /** Why the run is invalid (empty when valid). */
  invalidReasons: string[];
  connections: number;
  /** Receivers per message: subscribers + publishers of the room. */
  membersPerRoom: number;
  messagesPerSec: number;
  deliveriesPerSec: number;
  measuredMessages: number;
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  /** Deliveries of a message a connection had already received, or of unknown messages. */
  unexpectedDeliveries: number;
  /** Replies to message:send that were not `{ok:true, status:'delivered'}`, over the whole run. */
  rejectedSends: number;
  /** Other events the server pushed (error, moderation:notice, ...), over the whole run. */
  otherEvents: number;
  /** First few rejections / other events / errors, verbatim, for diagnosis. */
  samples: string[];
  /** Publish → last room member, µs, measured messages that reached every member. */
  latencyUs: { count: number; p50: number; p90: number; p99: number; p999: number; max: number };
  /** How late measured sends left their intended time, µs (timer granularity, stalls). */
  sendLagUs: { p50: number; p99: number };
  /** Worst send lag of a measured message, ms. */
  sendLagMaxMs: number;
  generatorElu: number;
  /** Length of the measured window: first measured send → last measured delivery and reply. */
  windowMs: number;
  /** Server CPU over the window from /proc schedstat, ns. */
  serverCpuNs: number;
  /** Same window from /proc/<pid>/stat, in ms (clock-tick resolution), as a cross-check. */
  serverCpuTicksMs: number;
  cpuUsPerDelivery: number;
  /** Server CPU seconds per wall second over the window (1 = one core busy). */
  serverCoreLoad: number;
}
