/**
 * Open-loop load generator for the relay scenarios. Runs as its own (pinned) process:
 *
 *   LOADGEN_CONFIG='<json LoadGenConfig>' node --import tsx loadtest/load-generator.ts
 *
 * 1. Opens rooms × (subscribers + publishers) connections and joins each to its room.
 * 2. Sends warm-up + measured messages at a fixed total rate on a fixed schedule, spread
 *    round-robin over the publishers (and so over the rooms). Each text starts with its intended
 *    send time and a sequence number (`t=<ms> s=<n> `, padded to the configured size), and
 *    latency is taken from that intended time, so a stalled generator or server cannot hide its
 *    own delay (no coordinated omission).
 * 3. A message is complete when every member of its room — publishers included, they receive their
 *    own room's messages — has it; its latency (publish → last member) goes into an HdrHistogram.
 * 4. Around the measured messages it reads the server's CPU time from /proc (see lib/cpu.ts) and
 *    its own event-loop utilisation, then prints one line `RESULT <json LoadGenResult>`.
 */
import { performance } from 'node:perf_hooks';
import * as hdr from 'hdr-histogram-js';
import { SignJWT } from 'jose';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { clockTicksPerSecond, processCpuTicks, processTreeCpuNs } from './lib/cpu.ts';
import { readFileSync } from 'node:fs';
import { waitForFile } from './lib/files.ts';
import {
  LOADGEN_CONFIG_ENV,
  LOADGEN_CONFIG_FILE_ENV,
  RESULT_PREFIX,
  type LoadGenConfig,
  type LoadGenResult,
} from './lib/relay-load.ts';

/** Plain words to pad texts with: a moderation pipeline should see ordinary chat, not spam. */
const FILLER = 'hello everyone, how is the stream going tonight? the last round was great fun to watch ';
const TEXT_RE = /^t=(\d+\.\d+) s=(\d+) /;
/** Verbatim samples of rejections and odd events kept for the report. */
const MAX_SAMPLES = 5;
/** Slack beyond the planned duration before the generator gives up on its own. */
const TIME_CAP_SLACK_MS = 5_000;
/** Tolerance of the CPU cross-check: each /proc/<pid>/stat reading is ±1 tick, so ±2 ticks
 *  over a window, plus a few percent for how the kernel splits time into ticks. */
const CPU_CROSS_CHECK_TICKS = 2;
const CPU_CROSS_CHECK_RELATIVE = 0.05;
/** Pause between the last join and the first send, so setup traffic has settled. */
const SETTLE_MS = 200;

interface Client {
  join(room: string): Promise<void>;
  send(room: string, text: string, onReply: (reply: unknown) => void): void;
  close(): void;
}

interface ClientEvents {
  /** A `message` event; `text` is data.text. */
  onMessage(text: unknown): void;
  /** Any other event or stray frame. */
  onOther(description: string): void;
  /** The connection went away while we still needed it. */
  onLost(description: string): void;
}

/** How long the generator waits for its config file. */
const CONFIG_WAIT_MS = 60_000;

async function readConfig(): Promise<LoadGenConfig> {
  const file = process.env[LOADGEN_CONFIG_FILE_ENV];
  if (file) {
    if (!(await waitForFile(file, CONFIG_WAIT_MS))) {
      console.error(`load-generator: ${file} did not appear within ${CONFIG_WAIT_MS} ms`);
      process.exit(2);
    }
    return JSON.parse(readFileSync(file, 'utf8')) as LoadGenConfig;
  }
  const json = process.env[LOADGEN_CONFIG_ENV];
  if (!json) {
    console.error(`load-generator: set ${LOADGEN_CONFIG_ENV} to a JSON LoadGenConfig (or ${LOADGEN_CONFIG_FILE_ENV} to a file holding it)`);
    process.exit(2);
  }
  return JSON.parse(json) as LoadGenConfig;
}

const cfg = await readConfig();

const membersPerRoom = cfg.subscribersPerRoom + cfg.publishersPerRoom;
const publisherCount = cfg.rooms * cfg.publishersPerRoom;
const messagesPerSec = publisherCount * cfg.ratePerPublisher;
const intervalMs = 1000 / messagesPerSec;
const warmup = cfg.warmupMessages;
const total = cfg.warmupMessages + cfg.measuredMessages;

// Per-message state, indexed by sequence number.
const remaining = new Int32Array(total).fill(membersPerRoom);

const latency = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000, // µs
  numberOfSignificantValueDigits: 3,
  autoResize: true,
});
/** How late each measured send left, µs: the generator's own timer slop, included in `latency`. */
const sendLag = hdr.build({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 60_000_000,
  numberOfSignificantValueDigits: 3,
  autoResize: true,
});
const reasons: string[] = [];
const samples: string[] = [];
const clients: Client[] = [];
const publishers: { client: Client; room: string }[] = [];

let delivered = 0;
let completeMeasured = 0;
let repliesMeasured = 0;
let unexpectedDeliveries = 0;
let rejectedSends = 0;
let otherEvents = 0;
let sendLagMaxMs = 0;
let next = 0;
let t0 = 0;
let finished = false;

interface Snapshot {
  t: number;
  cpuNs: number;
  ticks: number;
  elu: ReturnType<typeof performance.eventLoopUtilization>;
}
let windowStart: Snapshot | undefined;
let windowEnd: Snapshot | undefined;

function snapshot(): Snapshot {
  return {
    t: performance.now(),
    cpuNs: processTreeCpuNs(cfg.serverPid),
    ticks: processCpuTicks(cfg.serverPid),
    elu: performance.eventLoopUtilization(),
  };
}

function sample(s: string): void {
  if (samples.length < MAX_SAMPLES) samples.push(s.slice(0, 300));
}

const events: ClientEvents = {
  onMessage(text) {
    const now = performance.now();
    const m = typeof text === 'string' ? TEXT_RE.exec(text) : null;
    if (!m) {
      unexpectedDeliveries++;
      sample(`message with unexpected text: ${JSON.stringify(text)}`);
      return;
    }
    const seq = Number(m[2]);
    if (!(seq < total) || remaining[seq]! <= 0) {
      unexpectedDeliveries++;
      return;
    }
    const left = --remaining[seq]!;
    if (seq < warmup) return;
    delivered++;
    if (left === 0) {
      latency.recordValue(Math.max(1, Math.round((now - Number(m[1])) * 1000)));
      completeMeasured++;
      maybeDone();
    }
  },
  onOther(description) {
    otherEvents++;
    sample(`event: ${description}`);
  },
  onLost(description) {
    if (finished) return;
    const phase = t0 === 0 ? 'setup' : windowStart ? 'the measured window' : 'warm-up';
    reasons.push(`a connection was lost during ${phase} (${next} messages sent): ${description}`);
    finish();
  },
};

function onReply(seq: number, reply: unknown): void {
  const r = reply as { ok?: unknown; status?: unknown } | null;
  if (!r || r.ok !== true || r.status !== 'delivered') {
    rejectedSends++;
    sample(`message:send reply: ${JSON.stringify(reply)}`);
  }
  if (seq >= warmup) {
    repliesMeasured++;
    maybeDone();
  }
}

function maybeDone(): void {
  if (completeMeasured === cfg.measuredMessages && repliesMeasured === cfg.measuredMessages) finish();
}

function makeText(intended: number, seq: number): string {
  const prefix = `t=${intended.toFixed(3)} s=${seq} `;
  let text = prefix;
  while (text.length < cfg.textBytes) text += FILLER;
  return text.slice(0, Math.max(cfg.textBytes, prefix.length));
}

/** Sends every message whose intended time has come, then sleeps until the next one is due. */
function pump(): void {
  if (finished) return;
  const now = performance.now();
  while (next < total) {
    const intended = t0 + next * intervalMs;
    if (intended > now) break;
    if (next === warmup) windowStart = snapshot();
    if (next >= warmup) {
      const lag = now - intended;
      if (lag > sendLagMaxMs) sendLagMaxMs = lag;
      sendLag.recordValue(Math.max(1, Math.round(lag * 1000)));
    }
    const seq = next++;
    const pub = publishers[seq % publisherCount]!;
    pub.client.send(pub.room, makeText(intended, seq), (reply) => onReply(seq, reply));
  }
  if (next < total) {
    setTimeout(pump, Math.max(0, t0 + next * intervalMs - performance.now()));
  } else {
    setTimeout(() => {
      if (finished) return;
      reasons.push(`not everything arrived within ${cfg.drainTimeoutMs} ms of the last send`);
      finish();
    }, cfg.drainTimeoutMs);
  }
}

function finish(): void {
  if (finished) return;
  finished = true;
  windowEnd = snapshot();
  const result = buildResult();
  for (const c of clients) c.close();
  process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
  process.exit(0);
}

function buildResult(): LoadGenResult {
  const expected = cfg.measuredMessages * membersPerRoom;
  const lost = expected - delivered;
  const start = windowStart;
  const end = windowEnd!;
  const windowMs = start ? end.t - start.t : 0;
  const serverCpuNs = start ? end.cpuNs - start.cpuNs : 0;
  const serverCpuTicksMs = start ? ((end.ticks - start.ticks) * 1000) / clockTicksPerSecond() : 0;
  const generatorElu = start ? performance.eventLoopUtilization(end.elu, start.elu).utilization : 0;

  if (!start) {
    // Setup failed or timed out: that reason is already there, and nothing was measured.
    if (reasons.length === 0) reasons.push('the measured window never started');
  } else {
    if (lost > 0) reasons.push(`${lost} of ${expected} deliveries lost`);
    if (generatorElu > cfg.maxGeneratorElu) {
      reasons.push(`load generator saturated: event-loop utilisation ${generatorElu.toFixed(2)} > ${cfg.maxGeneratorElu}`);
    }
    // The two CPU sources must agree within the tick resolution: if /proc/<pid>/stat saw more, a
    // thread or child exited inside the window and took its schedstat time with it (lib/cpu.ts).
    const tickMs = 1000 / clockTicksPerSecond();
    const tolerance = CPU_CROSS_CHECK_TICKS * tickMs + CPU_CROSS_CHECK_RELATIVE * (serverCpuNs / 1e6);
    if (Math.abs(serverCpuTicksMs - serverCpuNs / 1e6) > tolerance) {
      reasons.push(
        `server CPU sources disagree: schedstat ${(serverCpuNs / 1e6).toFixed(1)} ms vs /proc stat ` +
          `${serverCpuTicksMs.toFixed(0)} ms (threads or children exited during the window?)`,
      );
    }
  }
  if (unexpectedDeliveries > 0) reasons.push(`${unexpectedDeliveries} duplicate or unknown deliveries`);
  if (rejectedSends > 0) reasons.push(`${rejectedSends} sends not delivered (see samples)`);
  if (sendLagMaxMs > cfg.maxSendLagMs) {
    reasons.push(`load generator fell behind schedule: a send was ${sendLagMaxMs.toFixed(1)} ms late (> ${cfg.maxSendLagMs})`);
  }
  const pct = (p: number) => (latency.totalCount ? latency.getValueAtPercentile(p) : 0);
  return {
    variant: cfg.variant,
    valid: reasons.length === 0,
    invalidReasons: reasons,
    connections: clients.length,
    membersPerRoom,
    messagesPerSec,
    deliveriesPerSec: messagesPerSec * membersPerRoom,
    measuredMessages: cfg.measuredMessages,
    expectedDeliveries: expected,
    delivered,
    lost,
    unexpectedDeliveries,
    rejectedSends,
    otherEvents,
    samples,
    latencyUs: {
      count: latency.totalCount,
      p50: pct(50),
      p90: pct(90),
      p99: pct(99),
      p999: pct(99.9),
      max: latency.totalCount ? latency.maxValue : 0,
    },
    sendLagUs: {
      p50: sendLag.totalCount ? sendLag.getValueAtPercentile(50) : 0,
      p99: sendLag.totalCount ? sendLag.getValueAtPercentile(99) : 0,
    },
    sendLagMaxMs,
    generatorElu,
    windowMs,
    serverCpuNs,
    serverCpuTicksMs,
    cpuUsPerDelivery: delivered ? serverCpuNs / 1000 / delivered : 0,
    serverCoreLoad: windowMs ? serverCpuNs / 1e6 / windowMs : 0,
  };
}

// ---------------------------------------------------------------------------------------------
// Clients

function isOk(reply: unknown): boolean {
  return (reply as { ok?: unknown } | null)?.ok === true;
}

/** modgate's raw door and bare-uws: `{event,data,ack}` out, `{ack,data}` / `{event,data}` in. */
function openRaw(url: string, token: string | undefined, label: string, ev: ClientEvents): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(token ? `${url}?token=${encodeURIComponent(token)}` : url, {
      // Same framing cost for every variant: no permessage-deflate.
      perMessageDeflate: false,
      handshakeTimeout: cfg.connectTimeoutMs,
    });
    const pending = new Map<number, (data: unknown) => void>();
    let nextAck = 1;
    let open = false;
    let closing = false;
    const request = (event: string, data: object, cb: (reply: unknown) => void) => {
      const ack = nextAck++;
      pending.set(ack, cb);
      ws.send(JSON.stringify({ event, data, ack }));
    };
    const client: Client = {
      join: (room) =>
        new Promise((res, rej) =>
          request('room:join', { room }, (reply) =>
            isOk(reply) ? res() : rej(new Error(`room:join refused: ${JSON.stringify(reply)}`)),
          ),
        ),
      send: (room, text, onReply) => request('message:send', { room, text }, onReply),
      close: () => {
        closing = true;
        ws.terminate();
      },
    };
    ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        reject(new Error(`handshake refused: HTTP ${res.statusCode} ${body.slice(0, 200)}`));
        req.destroy();
      });
    });
    ws.on('error', (err) => (open ? ev.onLost(`${label}: error: ${err.message}`) : reject(err)));
    ws.on('open', () => {
      open = true;
      resolve(client);
    });
    ws.on('close', (code, why) => {
      if (!open) reject(new Error(`closed during handshake: ${code} ${why.toString()}`));
      else if (!closing) ev.onLost(`${label}: closed by server: ${code} ${why.toString()}`.trim());
    });
    ws.on('message', (buf) => {
      let frame: { ack?: unknown; event?: unknown; data?: { text?: unknown } };
      try {
        frame = JSON.parse(buf.toString());
      } catch {
        ev.onOther(`non-JSON frame: ${buf.toString().slice(0, 100)}`);
        return;
      }
      if (typeof frame.ack === 'number') {
        const cb = pending.get(frame.ack);
        pending.delete(frame.ack);
        if (cb) cb(frame.data);
        else ev.onOther(`reply to unknown ack: ${JSON.stringify(frame)}`);
      } else if (frame.event === 'message') {
        ev.onMessage(frame.data?.text);
      } else {
        ev.onOther(JSON.stringify(frame));
      }
    });
  });
}

/** bare-socketio (and modgate's socket.io door): socket.io-client over the websocket transport. */
function openSocketio(url: string, token: string | undefined, label: string, ev: ClientEvents): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = io(url, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      timeout: cfg.connectTimeoutMs,
      auth: token ? { token } : {},
    });
    let open = false;
    let closing = false;
    const client: Client = {
      join: (room) =>
        new Promise((res, rej) =>
          socket.emit('room:join', { room }, (reply: unknown) =>
            isOk(reply) ? res() : rej(new Error(`room:join refused: ${JSON.stringify(reply)}`)),
          ),
        ),
      send: (room, text, onReply) => socket.emit('message:send', { room, text }, onReply),
      close: () => {
        closing = true;
        socket.disconnect();
      },
    };
    socket.on('connect', () => {
      open = true;
      resolve(client);
    });
    socket.on('connect_error', (err: Error & { data?: unknown }) => {
      if (!open) reject(new Error(`connect_error: ${err.message} ${JSON.stringify(err.data ?? null)}`));
    });
    socket.on('disconnect', (why) => {
      if (open && !closing) ev.onLost(`${label}: disconnected: ${why}`);
    });
    socket.on('message', (data: { text?: unknown } | undefined) => ev.onMessage(data?.text));
    socket.onAny((event: string, ...args: unknown[]) => {
      if (event !== 'message') ev.onOther(`${event} ${JSON.stringify(args).slice(0, 200)}`);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Setup and run

async function mintToken(secret: string, i: number): Promise<string> {
  return new SignJWT({ roles: ['user'], name: `loadtest ${i}` })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(`lt-${i}`) // distinct per connection: per-user limits must not couple connections
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

/** Runs `fn(0..n-1)` with at most `limit` in flight; rejects on the first failure. */
async function inPool(n: number, limit: number, fn: (i: number) => Promise<void>): Promise<void> {
  let i = 0;
  const worker = async () => {
    while (i < n) await fn(i++);
  };
  await Promise.all(Array.from({ length: Math.min(limit, n) }, worker));
}

async function setup(): Promise<void> {
  const open = cfg.client === 'raw' ? openRaw : openSocketio;
  const perRoom = membersPerRoom;
  const count = cfg.rooms * perRoom;
  const roomPublishers: { client: Client; room: string }[][] = Array.from({ length: cfg.publishersPerRoom }, () => []);
  await inPool(count, cfg.connectConcurrency, async (i) => {
    const roomIndex = Math.floor(i / perRoom);
    const slot = i % perRoom;
    const room = `bench-${roomIndex}`;
    const token = cfg.jwtSecret ? await mintToken(cfg.jwtSecret, i) : undefined;
    const role = slot < cfg.subscribersPerRoom ? 'subscriber' : 'publisher';
    const client = await open(cfg.url, token, `connection ${i} (${role} in ${room})`, events);
    clients.push(client);
    await client.join(room);
    if (slot >= cfg.subscribersPerRoom) roomPublishers[slot - cfg.subscribersPerRoom]![roomIndex] = { client, room };
  });
  // Publisher order p0r0, p0r1, ..., p1r0, ...: consecutive messages go to different rooms.
  for (const list of roomPublishers) publishers.push(...list);
}

async function main(): Promise<void> {
  const plannedMs = cfg.connectTimeoutMs + total * intervalMs + cfg.drainTimeoutMs + TIME_CAP_SLACK_MS;
  setTimeout(() => {
    reasons.push(`time cap of ${Math.round(plannedMs)} ms reached`);
    finish();
  }, plannedMs);

  const connectTimer = setTimeout(() => {
    reasons.push(`setting up ${cfg.rooms * membersPerRoom} connections took over ${cfg.connectTimeoutMs} ms`);
    finish();
  }, cfg.connectTimeoutMs);
  try {
    await setup();
  } catch (err) {
    reasons.push(`setup failed: ${(err as Error).message}`);
    finish();
    return;
  }
  clearTimeout(connectTimer);
  t0 = performance.now() + SETTLE_MS;
  setTimeout(pump, SETTLE_MS);
}

void main();
