// @ts-check
/**
 * Livestream kills under chat: at a constant rate (constant-arrival-rate, KILL_RATE per minute),
 * one iteration plays one live room's end:
 *   1. VIEWERS viewers join a fresh room over `/ws` and chat in it (a message every CHAT_PACE);
 *   2. a streamer who owns the room sends `stream:start { room }` → `{ ok, streamId }`; viewers
 *      get `stream:started` (modgate_stream_started_ms: start request → event at a viewer);
 *   3. LIVE_TIME later a moderator sends `stream:kill { room, reason }` on `/ws/admin` →
 *      `{ ok, streamId, caseId }` (modgate_kill_ack_ms; the reply waits for every node's
 *      confirmation, so it is slower than the kill itself);
 *   4. every viewer must get `stream:ended { room, streamId, reason: "killed" }`:
 *      modgate_kill_to_ended_ms = kill sent → event at the viewer, the figure this script is for.
 * Several connections per iteration: this script uses `k6/websockets` (k6 ≥ 1.0), not `k6/ws`.
 *
 *   k6 run -e URL=ws://host:8080 -e SECRET=<MODGATE_JWT_SECRET> -e KILL_RATE=12 loadtest/live-kill.k6.js
 *
 * With SECRET every iteration mints its own streamer (owning a fresh room), viewers and a
 * moderator. Without it: -e ADMIN_TOKEN (roles moderator or admin), -e STREAMER_TOKEN (owns
 * -e ROOM), -e TOKEN (viewers; one user for all of them) — one room, so keep KILL_RATE low enough
 * that iterations do not overlap. If the gateway does not support the stream events (it answers
 * `invalid` or `unavailable`), the checks "stream:start ok" / "stream:kill ok" fail with the
 * gateway's answer logged once; the script does not crash.
 */
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { clearTimeout, setTimeout as k6SetTimeout } from 'k6/timers';
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
  tokenMode,
  warnOnce,
} from './k6/lib.js';
import { sendOnSchedule } from './k6/session.js';
import { openWebSocket } from './k6/websockets.js';

const MODE = tokenMode();
if (MODE === 'token' && (!envString('ADMIN_TOKEN', '') || !envString('STREAMER_TOKEN', '') || !envString('ROOM', ''))) {
  throw new Error('without -e SECRET, live-kill needs -e ADMIN_TOKEN, -e STREAMER_TOKEN and -e ROOM (a room the streamer token owns), and -e TOKEN for viewers');
}
const DURATION = envString('DURATION', '1m');
const KILL_RATE = Math.max(1, Math.round(envNumber('KILL_RATE', 12))); // per minute
const VIEWERS = Math.max(1, Math.floor(envNumber('VIEWERS', 5)));
const CHAT_PACE_MS = parseDuration(envString('CHAT_PACE', '2.5s'));
const LIVE_MS = parseDuration(envString('LIVE_TIME', '3s'));
const ENDED_TIMEOUT_MS = parseDuration(envString('ENDED_TIMEOUT', '5s'));
const KILL_P95 = envNumber('KILL_P95_MS', 100);
const KILL_P99 = envNumber('KILL_P99_MS', 250);
const ACK_P95 = envNumber('ACK_P95_MS', 20);
/** The kill's reply waits for every gateway node's confirmation that it told its viewers (a
 *  250 ms collection window in modgate today): it is not the enforcement latency, hence its own,
 *  looser threshold. */
const KILL_ACK_P95 = envNumber('KILL_ACK_P95_MS', 500);
/** Setup (connect, join, start) gets this long before the iteration gives up. */
const SETUP_TIMEOUT_MS = 10000;
const iterationCapMs = SETUP_TIMEOUT_MS + LIVE_MS + ENDED_TIMEOUT_MS + 2000;
const vus = Math.ceil((KILL_RATE / 60) * ((iterationCapMs / 1000) * 1.3)) + 3;

const killToEnded = new Trend('modgate_kill_to_ended_ms', true);
const killAck = new Trend('modgate_kill_ack_ms', true);
const startedLatency = new Trend('modgate_stream_started_ms', true);
const viewerAck = new Trend('modgate_viewer_ack_ms', true);
const kills = new Counter('modgate_kills');
const endedSeen = new Counter('modgate_stream_ended_seen');

/** @type {import('k6/options').Options} */
export const options = {
  scenarios: {
    kills: {
      executor: 'constant-arrival-rate',
      rate: KILL_RATE,
      timeUnit: '1m',
      duration: DURATION,
      preAllocatedVUs: vus,
      maxVUs: vus * 2,
      gracefulStop: seconds(iterationCapMs + 5000),
      exec: 'liveKill',
    },
  },
  thresholds: {
    modgate_kill_to_ended_ms: [`p(95)<${KILL_P95}`, `p(99)<${KILL_P99}`],
    modgate_kill_ack_ms: [`p(95)<${KILL_ACK_P95}`],
    modgate_viewer_ack_ms: [`p(95)<${ACK_P95}`],
    checks: ['rate==1'],
    dropped_iterations: ['count==0'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'p(90)', 'p(95)', 'p(99)', 'max', 'count'],
};

export function setup() {
  return newRun();
}

/** @typedef {import('./k6/session.js').Session} Session */

/** @param {import('./k6/lib.js').RunData} run */
export function liveKill(run) {
  const idx = exec.scenario.iterationInTest;
  const room = MODE === 'secret' ? roomName(`live-${run.runId}-${idx}`) : envString('ROOM', '');
  const streamerToken = tokenFor({ sub: `k6-${run.runId}-streamer-${idx}`, owns: [room] }, 'STREAMER_TOKEN');
  const moderatorToken = envString('ADMIN_TOKEN', '') || tokenFor({ sub: `k6-${run.runId}-mod`, roles: ['moderator'] });

  /** @type {Session[]} */
  const sessions = [];
  let finished = false;
  let joined = 0;
  let streamId = '';
  let startSentAt = 0;
  let killSentAt = 0;
  let killReplied = false;
  /** Per viewer: got stream:ended. */
  const ended = /** @type {boolean[]} */ ([]);
  const allTold = () => ended.filter(Boolean).length === VIEWERS;
  /** @type {Session | undefined} */
  let moderator;
  let moderatorReady = false;

  /** Timers of this iteration: cleared at the end, or they would keep the iteration alive. */
  const timers = /** @type {number[]} */ ([]);
  const later = (/** @type {() => void} */ fn, /** @type {number} */ ms) => {
    timers.push(k6SetTimeout(fn, ms));
  };
  const finish = (/** @type {string} */ why) => {
    if (finished) return;
    finished = true;
    for (const t of timers) clearTimeout(t);
    if (killSentAt > 0) {
      for (let v = 0; v < VIEWERS; v++) check(ended[v] === true, { 'viewer got stream:ended after the kill': (b) => b });
      if (ended.filter(Boolean).length < VIEWERS) warnOnce('ended-missing', `not every viewer got stream:ended (${why})`);
    }
    for (const s of sessions) s.close();
  };
  // Whatever happens, the iteration ends: every connection is closed by then.
  later(() => finish('iteration time cap'), iterationCapMs);

  /** @param {string} who @returns {(why: string) => void} */
  const refusedBy = (who) => (why) => {
    check(why, { [`${who} connected`]: () => false });
    warnOnce(`refused-${who}`, `${who} could not connect: ${why}`);
    finish(`${who} refused`);
  };
  /** @param {string} who @returns {(why: string) => void} */
  const lostBy = (who) => (why) => {
    if (finished) return;
    check(why, { [`${who} stayed connected`]: () => false });
    warnOnce(`lost-${who}`, `${who} disconnected: ${why}`);
    finish(`${who} lost`);
  };

  const kill = () => {
    if (finished || !moderator) return;
    killSentAt = Date.now();
    kills.add(1);
    moderator.request('stream:kill', { room, reason: 'k6 load test: live-kill.k6.js' }, (reply) => {
      killAck.add(Date.now() - killSentAt);
      killReplied = true;
      const ok = check(reply, {
        'stream:kill ok': (x) => replyCode(x) === 'ok',
        'stream:kill names the stream': (x) => replyCode(x) === 'ok' && x.streamId === streamId,
      });
      if (!ok) {
        warnOnce(`kill-${replyCode(reply)}`, `stream:kill refused — does this gateway support stream kills? ${brief(reply)}`);
        finish('kill refused');
      } else if (allTold()) {
        finish('all viewers told');
      }
    });
    later(() => finish('stream:ended timeout'), ENDED_TIMEOUT_MS);
  };

  const startStream = () => {
    const streamer = openWebSocket('raw', 'client', streamerToken, { role: 'streamer' }, {
      ready(s) {
        startSentAt = Date.now();
        s.request('stream:start', { room, title: `k6 ${run.runId} ${idx}` }, (reply) => {
          const ok = check(reply, { 'stream:start ok': (x) => replyCode(x) === 'ok' && typeof x.streamId === 'string' });
          if (!ok) {
            warnOnce(
              `start-${replyCode(reply)}`,
              `stream:start refused — stream events not available on this gateway? ${brief(reply)}`,
            );
            finish('start refused');
            return;
          }
          streamId = reply.streamId;
          const waitForModerator = () => {
            if (finished) return;
            if (moderatorReady) kill();
            else later(waitForModerator, 50);
          };
          later(waitForModerator, LIVE_MS);
        });
      },
      refused: refusedBy('streamer'),
      // The kill ends the streamer's stream; the gateway may also end its session (a suspension).
      closed: (why) => {
        if (killSentAt === 0) lostBy('streamer')(why);
      },
    });
    sessions.push(streamer);
  };

  moderator = openWebSocket('raw', 'admin', moderatorToken, { role: 'moderator' }, {
    ready() {
      moderatorReady = true;
    },
    refused: refusedBy('moderator'),
    closed: lostBy('moderator'),
  });
  sessions.push(moderator);

  for (let v = 0; v < VIEWERS; v++) {
    ended.push(false);
    const viewerToken = tokenFor({ sub: `k6-${run.runId}-viewer-${idx}-${v}` });
    const viewer = openWebSocket('raw', 'client', viewerToken, { role: 'viewer' }, {
      ready(s) {
        s.on('stream:started', (e) => {
          if (startSentAt > 0 && e && e.room === room) startedLatency.add(Date.now() - startSentAt);
        });
        s.on('stream:ended', (e) => {
          if (!e || e.room !== room || ended[v]) return;
          ended[v] = true;
          endedSeen.add(1);
          if (killSentAt > 0) killToEnded.add(Date.now() - killSentAt);
          check(e, {
            'stream:ended says killed': (x) => x.reason === 'killed',
            'stream:ended names the stream': (x) => x.streamId === streamId,
          });
          // Done when every viewer was told and the moderator has the kill's reply (either may come first).
          if (allTold() && killReplied) finish('all viewers told');
        });
        s.request('room:join', { room }, (reply) => {
          if (!check(reply, { 'viewer room:join ok': (x) => replyCode(x) === 'ok' })) {
            warnOnce('viewer-join', `viewer room:join refused: ${brief(reply)}`);
            finish('viewer join refused');
            return;
          }
          // Chat for as long as the room can live; the first message right away.
          const count = Math.ceil((SETUP_TIMEOUT_MS + LIVE_MS + ENDED_TIMEOUT_MS) / CHAT_PACE_MS);
          sendOnSchedule(s, 1000 / CHAT_PACE_MS, count, (_n, intended) => {
            if (finished) return;
            s.request('message:send', { room, text: stampedText(run.runId, intended) }, (r) => {
              viewerAck.add(Date.now() - intended);
              if (!check(r, { 'viewer message:send ok': (x) => replyCode(x) === 'ok' })) {
                warnOnce(`viewer-send-${replyCode(r)}`, `viewer message:send refused: ${brief(r)}`);
              }
            });
          });
          if (++joined === VIEWERS) startStream();
        });
      },
      refused: refusedBy('viewer'),
      closed: lostBy('viewer'),
    });
    sessions.push(viewer);
  }
}
