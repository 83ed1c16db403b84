// @ts-check
/**
 * Flooding: three user classes in the same rooms, each its own scenario, tagged `class`:
 *   normal   new users arriving at a constant rate (constant-arrival-rate), each sending a few
 *            messages within the per-user budget → every message must be accepted (`ok:true`),
 *            and quickly (modgate_ack_ms{class:normal}).
 *   flooder  FLOODERS users each sending FLOOD_RATE messages/s (default 20: 40× the default
 *            per-user rate, yet under the per-connection hard limit of 30/s) for FLOOD_TIME →
 *            past the budget they must be refused with `rate_limited` (with retryAfterMs), never
 *            accepted beyond USER_BURST + USER_RATE × elapsed, and the refusals must be cheap
 *            (modgate_refusal_ms{class:flooder}).
 *   abuser   ABUSERS users sending ABUSE_RATE messages/s (default 200) → past the hard flood
 *            limit (token bucket, 30/s with a burst of 60 by default) the gateway must close the
 *            connection (modgate_flood_disconnect_ms: first send → closed by the server).
 * Needs -e SECRET: the classes must be distinct users, and so must the normal users.
 *
 *   k6 run -e URL=ws://host:8080 -e SECRET=<MODGATE_JWT_SECRET> loadtest/spam-flood.k6.js
 *
 * The budget the checks hold the gateway to is its configuration: -e USER_BURST=5 -e USER_RATE=0.5
 * (the spam filter's defaults); see loadtest/README.md.
 */
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import {
  brief,
  envNumber,
  envString,
  newRun,
  parseDuration,
  replyCode,
  roomName,
  seconds,
  stampedText,
  tokenFor,
  warnOnce,
} from './k6/lib.js';
import { kindFromEnv, openWs, sendOnSchedule } from './k6/session.js';

if (!envString('SECRET', '')) {
  throw new Error('spam-flood needs -e SECRET=<MODGATE_JWT_SECRET>: normal users, flooders and abusers must be distinct users');
}
const door = kindFromEnv('raw');

const DURATION = envString('DURATION', '1m');
const DURATION_MS = parseDuration(DURATION);
const ROOMS = Math.max(1, Math.floor(envNumber('ROOMS', 5)));
/** Normal traffic: messages/s, in sessions of NORMAL_MSGS messages NORMAL_PACE apart. */
const NORMAL_RATE = envNumber('RATE', 10);
const NORMAL_MSGS = Math.max(1, Math.floor(envNumber('NORMAL_MSGS', 4)));
const NORMAL_PACE_MS = parseDuration(envString('NORMAL_PACE', '2.5s'));
const FLOODERS = Math.max(0, Math.floor(envNumber('FLOODERS', 5)));
const FLOOD_RATE = envNumber('FLOOD_RATE', 20);
const FLOOD_MS = parseDuration(envString('FLOOD_TIME', '15s'));
const ABUSERS = Math.max(0, Math.floor(envNumber('ABUSERS', 2)));
const ABUSE_RATE = envNumber('ABUSE_RATE', 200);
const ABUSE_MS = parseDuration(envString('ABUSE_TIME', '5s'));
/** The per-user budget the gateway is configured with (spam filter defaults). */
const USER_BURST = envNumber('USER_BURST', 5);
const USER_RATE = envNumber('USER_RATE', 0.5);
/** Messages accepted beyond that before a flooder counts as not held (timing of the first
 *  refill; raise it for a multi-node deployment, where each extra node may let one burst through). */
const BUDGET_SLACK = envNumber('BUDGET_SLACK', 1);
const ACK_P95 = envNumber('ACK_P95_MS', 20);
const REFUSAL_P95 = envNumber('REFUSAL_P95_MS', 20);
/** Replies later than this after the last send count as missing. */
const ACK_TIMEOUT_MS = 10000;

const normalEveryMs = Math.max(1, Math.round((NORMAL_MSGS * 1000) / NORMAL_RATE));
const normalSessionMs = 2000 + (NORMAL_MSGS - 1) * NORMAL_PACE_MS;
const normalVUs = Math.ceil((normalSessionMs / normalEveryMs) * 1.3) + 5;

const ack = new Trend('modgate_ack_ms', true);
const refusal = new Trend('modgate_refusal_ms', true);
const floodDisconnect = new Trend('modgate_flood_disconnect_ms', true);
const replies = new Counter('modgate_send_replies');
const accepted = new Counter('modgate_flood_accepted');

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    normal: {
      executor: 'constant-arrival-rate',
      rate: 1,
      timeUnit: `${normalEveryMs}ms`,
      duration: DURATION,
      preAllocatedVUs: normalVUs,
      maxVUs: normalVUs * 2,
      gracefulStop: seconds(normalSessionMs + ACK_TIMEOUT_MS),
      exec: 'normal',
      tags: { class: 'normal' },
    },
  },
  thresholds: {
    'checks{class:normal}': ['rate==1'],
    'modgate_ack_ms{class:normal}': [`p(95)<${ACK_P95}`],
    dropped_iterations: ['count==0'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'],
};
const scenarios = /** @type {NonNullable<typeof options.scenarios>} */ (options.scenarios);
const thresholds = /** @type {NonNullable<typeof options.thresholds>} */ (options.thresholds);
// Flooders and abusers start once normal traffic runs, and finish well before it ends.
const attackStartMs = Math.min(10000, Math.floor(DURATION_MS / 4));
if (FLOODERS > 0) {
  scenarios.flooders = {
    executor: 'per-vu-iterations',
    vus: FLOODERS,
    iterations: 1,
    startTime: seconds(attackStartMs),
    maxDuration: seconds(FLOOD_MS + ACK_TIMEOUT_MS + 30000),
    exec: 'flooder',
    tags: { class: 'flooder' },
  };
  thresholds['checks{class:flooder}'] = ['rate==1'];
  thresholds['modgate_refusal_ms{class:flooder}'] = [`p(95)<${REFUSAL_P95}`];
}
if (ABUSERS > 0) {
  scenarios.abusers = {
    executor: 'per-vu-iterations',
    vus: ABUSERS,
    iterations: 1,
    startTime: seconds(attackStartMs),
    maxDuration: seconds(ABUSE_MS + 30000),
    exec: 'abuser',
    tags: { class: 'abuser' },
  };
  thresholds['checks{class:abuser}'] = ['rate==1'];
}

export function setup() {
  return newRun();
}

/** @typedef {import('./k6/lib.js').RunData} RunData */

/**
 * A normal user: join, NORMAL_MSGS messages NORMAL_PACE apart, each must be accepted.
 * @param {RunData} run
 */
export function normal(run) {
  const idx = exec.scenario.iterationInTest;
  const room = roomName(`spam-${idx % ROOMS}`);
  const token = tokenFor({ sub: `k6-${run.runId}-normal-${idx}` });
  const res = openWs(door, 'client', token, {}, {
    ready(s) {
      s.request('room:join', { room }, (reply) => {
        if (!check(reply, { 'normal: room:join ok': (x) => replyCode(x) === 'ok' })) {
          warnOnce('normal-join', `normal user: room:join refused: ${brief(reply)}`);
          s.close();
          return;
        }
        let answered = 0;
        sendOnSchedule(s, 1000 / NORMAL_PACE_MS, NORMAL_MSGS, (_n, intended) => {
          s.request('message:send', { room, text: stampedText(run.runId, intended) }, (r) => {
            ack.add(Date.now() - intended);
            const code = replyCode(r);
            replies.add(1, { code });
            if (!check(r, { 'normal: message accepted (ok:true)': (x) => replyCode(x) === 'ok' })) {
              warnOnce(`normal-${code}`, `normal user refused (the limits hit people they should not): ${brief(r)}`);
            }
            if (++answered === NORMAL_MSGS) s.close();
          });
        });
        s.after((NORMAL_MSGS - 1) * NORMAL_PACE_MS + ACK_TIMEOUT_MS, () => {
          if (answered < NORMAL_MSGS) check(answered, { 'normal: every message answered': () => false });
          s.close();
        });
      });
    },
    refused(why) {
      check(why, { 'normal: connected': () => false });
      warnOnce('normal-refused', `normal user could not connect: ${why}`);
    },
    closed(why) {
      check(why, { 'normal: stayed connected': () => false });
      warnOnce('normal-closed', `normal user disconnected: ${why}`);
    },
  });
  check(res, { 'normal: WebSocket upgrade (101)': (x) => x !== null && x.status === 101 });
}

/**
 * A flooder: FLOOD_RATE distinct messages/s for FLOOD_TIME; everything past the per-user budget
 * must be refused, with `rate_limited` among the refusals.
 * @param {RunData} run
 */
export function flooder(run) {
  const idx = exec.scenario.iterationInTest;
  const room = roomName(`spam-${idx % ROOMS}`);
  const token = tokenFor({ sub: `k6-${run.runId}-flooder-${idx}` });
  const total = Math.max(1, Math.round((FLOOD_RATE * FLOOD_MS) / 1000));
  /** @type {Record<string, number>} */
  const codes = {};
  let ok = 0;
  let answered = 0;
  let rateLimited = 0;
  let retryAfterOk = true;
  let start = 0;
  let lastOkAt = 0;
  let verdictGiven = false;
  const verdict = (/** @type {string} */ how) => {
    if (verdictGiven) return;
    verdictGiven = true;
    // The budget: the burst, plus the rate over the time the flooder was accepted, plus slack.
    const allowed = USER_BURST + USER_RATE * ((lastOkAt - start) / 1000) + BUDGET_SLACK;
    check(ok, { 'flooder: held to the per-user budget': (n) => n <= allowed });
    check(rateLimited, { 'flooder: refused with rate_limited past the budget': (n) => n > 0 });
    check(retryAfterOk, { 'flooder: rate_limited carries retryAfterMs': (b) => b });
    accepted.add(ok);
    if (ok > allowed || rateLimited === 0) {
      warnOnce('flooder-verdict', `flooder ${idx}: ${ok} of ${answered} accepted (budget ${allowed.toFixed(1)}), replies ${JSON.stringify(codes)}, ${how}`);
    }
  };
  const res = openWs(door, 'client', token, {}, {
    ready(s) {
      s.request('room:join', { room }, (reply) => {
        if (!check(reply, { 'flooder: room:join ok': (x) => replyCode(x) === 'ok' })) {
          warnOnce('flooder-join', `flooder: room:join refused: ${brief(reply)}`);
          s.close();
          return;
        }
        start = Date.now();
        sendOnSchedule(s, FLOOD_RATE, total, (_n, intended) => {
          s.request('message:send', { room, text: stampedText(run.runId, intended) }, (r) => {
            const code = replyCode(r);
            replies.add(1, { code });
            codes[code] = (codes[code] || 0) + 1;
            answered++;
            if (code === 'ok') {
              ok++;
              lastOkAt = Date.now();
            } else {
              refusal.add(Date.now() - intended);
              if (code === 'rate_limited') {
                rateLimited++;
                if (!(r.error && r.error.retryAfterMs > 0)) retryAfterOk = false;
              }
            }
            if (answered === total) {
              verdict('all answered');
              s.close();
            }
          });
        });
        s.after(FLOOD_MS + ACK_TIMEOUT_MS, () => {
          verdict(`${total - answered} unanswered`);
          s.close();
        });
      });
    },
    refused(why) {
      check(why, { 'flooder: connected': () => false });
      warnOnce('flooder-refused', `flooder could not connect: ${why}`);
    },
    closed(why) {
      // Closed by the gateway: a suspension or ban for flooding ends the session; that limits the
      // flooder too, so the verdict stands on what was accepted until then.
      verdict(`connection closed by the gateway (${why})`);
    },
  });
  check(res, { 'flooder: WebSocket upgrade (101)': (x) => x !== null && x.status === 101 });
}

/**
 * An abuser: ABUSE_RATE messages/s, far past the per-connection hard flood limit → the gateway
 * must close the connection within ABUSE_TIME.
 * @param {RunData} run
 */
export function abuser(run) {
  const idx = exec.scenario.iterationInTest;
  const room = roomName(`spam-${idx % ROOMS}`);
  const token = tokenFor({ sub: `k6-${run.runId}-abuser-${idx}` });
  let start = 0;
  let sent = 0;
  let closedByServer = false;
  const res = openWs(door, 'client', token, {}, {
    ready(s) {
      s.request('room:join', { room }, (reply) => {
        if (!check(reply, { 'abuser: room:join ok': (x) => replyCode(x) === 'ok' })) {
          warnOnce('abuser-join', `abuser: room:join refused: ${brief(reply)}`);
          s.close();
          return;
        }
        start = Date.now();
        const total = Math.max(1, Math.round((ABUSE_RATE * ABUSE_MS) / 1000));
        sendOnSchedule(s, ABUSE_RATE, total, (_n, intended) => {
          sent++;
          s.request('message:send', { room, text: stampedText(run.runId, intended) }, (r) => {
            replies.add(1, { code: replyCode(r) });
          });
        });
        s.after(ABUSE_MS + 1000, () => {
          check(closedByServer, { 'abuser: disconnected past the hard flood limit': (b) => b });
          warnOnce('abuser-open', `abuser ${idx}: still connected after ${sent} messages in ${ABUSE_MS} ms (is the hard flood limit lifted?)`);
          s.close();
        });
      });
    },
    refused(why) {
      check(why, { 'abuser: connected': () => false });
      warnOnce('abuser-refused', `abuser could not connect: ${why}`);
    },
    closed() {
      if (start === 0) {
        check(false, { 'abuser: room:join ok': (b) => b });
        return;
      }
      closedByServer = true;
      floodDisconnect.add(Date.now() - start);
      check(closedByServer, { 'abuser: disconnected past the hard flood limit': (b) => b });
    },
  });
  check(res, { 'abuser: WebSocket upgrade (101)': (x) => x !== null && x.status === 101 });
}
