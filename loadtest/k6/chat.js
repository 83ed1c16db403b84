// @ts-check
/**
 * The chat fan-out load shared by chat-ws.k6.js, chat-socketio.k6.js and image-messages.k6.js.
 *
 * Two k6 scenarios:
 *   receivers  per-vu-iterations: RECEIVERS users, one connection each, spread round-robin over
 *              ROOMS rooms; they join during RAMP and stay until every message had time to arrive,
 *              recording intended-send → arrival of every message of this run (modgate_delivery_ms).
 *   senders    constant-arrival-rate (the open model): k6 starts sender sessions on a fixed
 *              schedule whether or not earlier ones finished (a late server cannot slow the
 *              arrivals down; when no VU is free the arrival is dropped and counted in
 *              dropped_iterations). A session is one new user: connect, join a room, send
 *              SENDER_MSGS messages SENDER_PACE apart on a fixed schedule (not waiting for
 *              replies), close once every reply is in. Each message carries its intended send
 *              time; replies are timed from it too (modgate_ack_ms).
 * Steady state: RATE messages/s = sessions/s × SENDER_MSGS. Short sessions of distinct users
 * keep every user under the spam filter's per-user budget (default 5 back to back, then 0.5/s),
 * as in real chat, while connections stay long-lived enough not to turn the test into a
 * handshake benchmark (one handshake per SENDER_MSGS messages).
 */
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  brief,
  envNumber,
  envString,
  parseDuration,
  readStamp,
  replyCode,
  roomName,
  seconds,
  stampedText,
  tokenFor,
  tokenMode,
  warnOnce,
} from './lib.js';
import { openWs } from './session.js';

/** @typedef {import('./session.js').Kind} Kind */
/** @typedef {import('./lib.js').RunData} RunData */

/**
 * @typedef {object} ChatConfig
 * @property {Kind} kind                 door: 'raw' (/ws) or 'socketio'
 * @property {number} defaultRate        messages/s when -e RATE is not given
 * @property {number} defaultReceivers   when -e RECEIVERS is not given
 * @property {string} ackMetric          name of the reply-latency Trend
 * @property {number} defaultAckP95      ms, threshold on ackMetric p95 (-e ACK_P95_MS)
 * @property {number} defaultAckP99      ms, threshold on ackMetric p99 (-e ACK_P99_MS)
 * @property {(run: RunData, intendedMs: number) => Record<string, unknown>} payload
 *   message:send data besides `room` (must carry the stamp in `text`)
 */

/** Replies later than this after the last scheduled send count as missing. */
const ACK_TIMEOUT_MS = 10000;

/**
 * @param {ChatConfig} cfg
 */
export function makeChat(cfg) {
  tokenMode(); // fails fast without SECRET or TOKEN
  const RATE = envNumber('RATE', cfg.defaultRate);
  const DURATION = envString('DURATION', '1m');
  const DURATION_MS = parseDuration(DURATION);
  const ROOMS = Math.max(1, Math.floor(envNumber('ROOMS', 10)));
  const RECEIVERS = Math.max(0, Math.floor(envNumber('RECEIVERS', cfg.defaultReceivers)));
  const RAMP_MS = parseDuration(envString('RAMP', '10s'));
  const MSGS = Math.max(1, Math.floor(envNumber('SENDER_MSGS', 5)));
  const PACE_MS = parseDuration(envString('SENDER_PACE', '2.5s'));
  const DRAIN_MS = parseDuration(envString('DRAIN', '5s'));
  const DELIVERY_P95 = envNumber('P95_MS', 20);
  const DELIVERY_P99 = envNumber('P99_MS', 50);
  const ACK_P95 = envNumber('ACK_P95_MS', cfg.defaultAckP95);
  const ACK_P99 = envNumber('ACK_P99_MS', cfg.defaultAckP99);
  const LAG_P99 = envNumber('SEND_LAG_P99_MS', 50);
  if (!(RATE > 0)) throw new Error('-e RATE must be > 0 (messages per second)');

  /** One sender session every `sessionEveryMs`: RATE messages/s in steady state. */
  const sessionEveryMs = Math.max(1, Math.round((MSGS * 1000) / RATE));
  /** A session's length: connect + join (allow 1 s), the send schedule, the last reply. */
  const sessionMs = 1000 + (MSGS - 1) * PACE_MS + 1000;
  const concurrentSessions = Math.ceil((sessionMs / sessionEveryMs) * 1.3) + 5;
  /** Receivers stay this long after the test starts: every session started has ended by then. */
  const receiveMs = RAMP_MS + DURATION_MS + sessionMs + ACK_TIMEOUT_MS + DRAIN_MS;
  const expectedPerRoom = RECEIVERS > 0 ? (RATE * DURATION_MS) / 1000 / ROOMS : 0;

  const delivery = new Trend('modgate_delivery_ms', true);
  const ack = new Trend(cfg.ackMetric, true);
  const join = new Trend('modgate_join_ms', true);
  const sendLag = new Trend('modgate_send_lag_ms', true);
  const delivered = new Counter('modgate_delivered');
  const expected = new Counter('modgate_expected_deliveries');
  const replies = new Counter('modgate_send_replies');
  const foreign = new Counter('modgate_foreign_messages');
  const errorEvents = new Counter('modgate_error_events');

  /** @type {import('k6/options').Options} */
  const options = {
    scenarios: {
      senders: {
        executor: 'constant-arrival-rate',
        rate: 1,
        timeUnit: `${sessionEveryMs}ms`,
        duration: DURATION,
        startTime: seconds(RAMP_MS),
        preAllocatedVUs: concurrentSessions,
        maxVUs: concurrentSessions * 2,
        gracefulStop: seconds(sessionMs + ACK_TIMEOUT_MS),
        exec: 'sender',
        tags: { role: 'sender' },
      },
    },
    thresholds: {
      [cfg.ackMetric]: [`p(95)<${ACK_P95}`, `p(99)<${ACK_P99}`],
      modgate_send_lag_ms: [`p(99)<${LAG_P99}`],
      checks: ['rate==1'],
      dropped_iterations: ['count==0'],
    },
    summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'],
  };
  if (RECEIVERS > 0 && options.scenarios && options.thresholds) {
    options.scenarios.receivers = {
      executor: 'per-vu-iterations',
      vus: RECEIVERS,
      iterations: 1,
      maxDuration: seconds(receiveMs + 30000),
      exec: 'receiver',
      tags: { role: 'receiver' },
    };
    options.thresholds.modgate_delivery_ms = [`p(95)<${DELIVERY_P95}`, `p(99)<${DELIVERY_P99}`];
    options.thresholds.modgate_delivered = ['count>0'];
  }

  /** Receivers in room `r` (receivers are assigned round-robin). */
  const receiversIn = (/** @type {number} */ r) => Math.floor(RECEIVERS / ROOMS) + (r < RECEIVERS % ROOMS ? 1 : 0);

  /** @param {RunData} run */
  function receiver(run) {
    const idx = exec.scenario.iterationInTest;
    const r = idx % ROOMS;
    const room = roomName(r);
    // Spread the connects over the first half of RAMP instead of one SYN burst.
    sleep(((idx / Math.max(1, RECEIVERS)) * RAMP_MS) / 2000);
    const deadline = exec.scenario.startTime + receiveMs;
    const token = tokenFor({ sub: `k6-${run.runId}-rx-${idx}` });
    const t0 = Date.now();
    let got = 0;
    const res = openWs(cfg.kind, 'client', token, { role: 'receiver' }, {
      ready(s) {
        s.on('message', (m) => {
          const intended = readStamp(m && m.text, run.runId);
          if (intended < 0) {
            foreign.add(1);
            return;
          }
          delivery.add(Date.now() - intended);
          delivered.add(1);
          got++;
        });
        s.on('error', (e) => {
          errorEvents.add(1, { code: String(e && e.code) });
          warnOnce('rx-error-event', `receiver got an error event: ${brief(e)}`);
        });
        s.request('room:join', { room }, (reply) => {
          join.add(Date.now() - t0, { role: 'receiver' });
          if (!check(reply, { 'receiver: room:join ok': (x) => replyCode(x) === 'ok' })) {
            warnOnce('rx-join', `receiver room:join refused: ${brief(reply)}`);
            s.close();
          }
        });
        s.after(deadline - Date.now(), () => {
          if (expectedPerRoom >= 10 && receiversIn(r) > 0) {
            check(got, { 'receiver: got messages of its room': (n) => n > 0 });
          }
          s.close();
        });
      },
      refused(why) {
        check(why, { 'receiver: connected': () => false });
        warnOnce('rx-refused', `receiver could not connect: ${why}`);
      },
      closed(why) {
        check(why, { 'receiver: stayed connected': () => false });
        warnOnce('rx-closed', `receiver connection lost: ${why}`);
      },
      protocolError(what) {
        warnOnce('rx-protocol', `receiver: ${what}`);
      },
    });
    check(res, { 'receiver: WebSocket upgrade (101)': (x) => x !== null && x.status === 101 });
  }

  /** @param {RunData} run */
  function sender(run) {
    const idx = exec.scenario.iterationInTest;
    const r = idx % ROOMS;
    const room = roomName(r);
    const token = tokenFor({ sub: `k6-${run.runId}-tx-${idx}` });
    const t0 = Date.now();
    const res = openWs(cfg.kind, 'client', token, { role: 'sender' }, {
      ready(s) {
        s.request('room:join', { room }, (reply) => {
          join.add(Date.now() - t0, { role: 'sender' });
          if (!check(reply, { 'sender: room:join ok': (x) => replyCode(x) === 'ok' })) {
            warnOnce('tx-join', `sender room:join refused: ${brief(reply)}`);
            s.close();
            return;
          }
          // The schedule is fixed now; sends never wait for replies.
          const start = Date.now();
          let answered = 0;
          for (let k = 0; k < MSGS; k++) {
            const intended = start + k * PACE_MS;
            s.after(intended - Date.now(), () => {
              sendLag.add(Date.now() - intended);
              s.request('message:send', Object.assign({ room }, cfg.payload(run, intended)), (reply) => {
                ack.add(Date.now() - intended);
                const code = replyCode(reply);
                replies.add(1, { code });
                check(reply, {
                  'sender: message:send ok': (x) => replyCode(x) === 'ok',
                  'sender: message delivered, not held': (x) => replyCode(x) === 'ok' && x.status === 'delivered',
                });
                if (code === 'ok' && reply.status === 'delivered') expected.add(receiversIn(r));
                else warnOnce(`tx-send-${code}`, `message:send not delivered: ${brief(reply)}`);
                if (++answered === MSGS) s.close();
              });
            });
          }
          s.after((MSGS - 1) * PACE_MS + ACK_TIMEOUT_MS, () => {
            if (answered < MSGS) {
              replies.add(MSGS - answered, { code: 'no_reply' });
              check(answered, { 'sender: every message:send answered': () => false });
            }
            s.close();
          });
        });
      },
      refused(why) {
        check(why, { 'sender: connected': () => false });
        warnOnce('tx-refused', `sender could not connect: ${why}`);
      },
      closed(why) {
        check(why, { 'sender: stayed connected': () => false });
        warnOnce('tx-closed', `sender connection lost: ${why}`);
      },
      protocolError(what) {
        warnOnce('tx-protocol', `sender: ${what}`);
      },
    });
    check(res, { 'sender: WebSocket upgrade (101)': (x) => x !== null && x.status === 101 });
  }

  return { options, receiver, sender };
}

/**
 * The usual chat payload: a stamped text.
 * @param {RunData} run
 * @param {number} intendedMs
 * @returns {Record<string, unknown>}
 */
export function textPayload(run, intendedMs) {
  return { text: stampedText(run.runId, intendedMs, envNumber('TEXT_WORDS', 8)) };
}
