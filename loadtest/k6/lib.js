// @ts-check
/**
 * Shared helpers for the k6 scripts in loadtest/*.k6.js: environment variables, HS256 tokens,
 * room names, and the stamped message texts that carry their intended send time.
 *
 * Runs inside k6 (its own JavaScript runtime, not Node): only k6 modules, no Node APIs. Kept to
 * plain ES2020 syntax. Type-checked with `npx tsc -p loadtest/k6/tsconfig.json`.
 */
import { hmac } from 'k6/crypto';
import { b64encode } from 'k6/encoding';

// ---------------------------------------------------------------------------------------------
// Environment (`k6 run -e NAME=value`)

/**
 * @param {string} name
 * @param {string} fallback
 * @returns {string}
 */
export function envString(name, fallback) {
  const v = __ENV[name];
  return v === undefined || v === '' ? fallback : v;
}

/**
 * A number from `-e NAME=...`; a value that is not a number stops the test at once (init
 * context), rather than running it with NaN.
 * @param {string} name
 * @param {number} fallback
 * @returns {number}
 */
export function envNumber(name, fallback) {
  const v = __ENV[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`-e ${name}=${v}: not a number`);
  return n;
}

/**
 * @param {string} name
 * @param {boolean} fallback
 * @returns {boolean}
 */
export function envBool(name, fallback) {
  const v = __ENV[name];
  if (v === undefined || v === '') return fallback;
  return /^(1|true|yes|on)$/i.test(v);
}

/**
 * k6-style duration ("90s", "2m", "1m30s", "500ms", "1h") → milliseconds.
 * @param {string} text
 * @returns {number}
 */
export function parseDuration(text) {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
  const units = /** @type {Record<string, number>} */ ({ ms: 1, s: 1000, m: 60000, h: 3600000 });
  let total = 0;
  let consumed = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * units[m[2]];
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) {
    if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000; // bare number: seconds
    throw new Error(`"${text}" is not a duration (e.g. 30s, 2m, 1m30s)`);
  }
  return total;
}

/**
 * Milliseconds → a k6 duration string, rounded up to whole seconds.
 * @param {number} ms
 * @returns {string}
 */
export function seconds(ms) {
  return `${Math.max(1, Math.ceil(ms / 1000))}s`;
}

/**
 * The gateway's base URL: `-e URL=ws://host:8080` (http(s):// is accepted and turned into
 * ws(s)://), without a trailing slash or path.
 * @returns {string}
 */
export function baseUrl() {
  let u = envString('URL', 'ws://127.0.0.1:8080').replace(/\/+$/, '');
  u = u.replace(/^http(s?):\/\//, 'ws$1://');
  if (!/^wss?:\/\/[^/]+$/.test(u)) throw new Error(`-e URL=${u}: expected ws://host:port (or wss://, http://, https://) without a path`);
  return u;
}

// ---------------------------------------------------------------------------------------------
// Tokens

/**
 * An HS256 JWT, as `modgate token` mints them: header and claims base64url (no padding), signed
 * with HMAC-SHA-256 over `header.payload`.
 * @param {string} secret
 * @param {Record<string, unknown>} claims
 * @returns {string}
 */
export function mintJwt(secret, claims) {
  const header = b64encode(JSON.stringify({ alg: 'HS256', typ: 'JWT' }), 'rawurl');
  const payload = b64encode(JSON.stringify(claims), 'rawurl');
  const signature = b64encode(hmac('sha256', secret, `${header}.${payload}`, 'binary'), 'rawurl');
  return `${header}.${payload}.${signature}`;
}

/** Token lifetime for minted tokens: the whole test plus margin (`-e TOKEN_TTL=seconds`). */
const TOKEN_TTL_SEC = envNumber('TOKEN_TTL', 3 * 3600);

/**
 * @typedef {object} UserSpec
 * @property {string} sub   user id, distinct per simulated user
 * @property {string[]} [roles]   default ["user"]
 * @property {string[]} [owns]    rooms this user owns (streamers)
 * @property {string} [name]
 */

/**
 * Which tokens this run uses: `-e SECRET=<HS256 secret>` mints one per simulated user (distinct
 * `sub`, so per-user limits apply per simulated user as in production); otherwise `-e TOKEN=<jwt>`
 * is used for every user (one real user: the per-user limits of the spam filter then apply to the
 * whole test). SECRET wins when both are given.
 * @returns {'secret' | 'token'}
 */
export function tokenMode() {
  if (envString('SECRET', '')) return 'secret';
  if (envString('TOKEN', '')) return 'token';
  throw new Error('set -e SECRET=<the gateway\'s MODGATE_JWT_SECRET> (tokens minted per simulated user) or -e TOKEN=<jwt> (one token for all)');
}

/**
 * A token for one simulated user: minted with SECRET, or `fallbackEnv` (default TOKEN) as given.
 * @param {UserSpec} user
 * @param {string} [fallbackEnv]
 * @returns {string}
 */
export function tokenFor(user, fallbackEnv) {
  const secret = envString('SECRET', '');
  if (secret) {
    /** @type {Record<string, unknown>} */
    const claims = {
      sub: user.sub,
      name: user.name || user.sub,
      roles: user.roles || ['user'],
      exp: Math.floor(Date.now() / 1000) + TOKEN_TTL_SEC,
    };
    if (user.owns && user.owns.length) claims.owns = user.owns;
    return mintJwt(secret, claims);
  }
  const given = envString(fallbackEnv || 'TOKEN', '') || envString('TOKEN', '');
  if (!given) throw new Error(`no token for ${user.sub}: set -e SECRET=... or -e ${fallbackEnv || 'TOKEN'}=...`);
  return given;
}

// ---------------------------------------------------------------------------------------------
// Runs, rooms, texts

/**
 * @typedef {object} RunData
 * @property {string} runId   random per run: user ids and message stamps of this run carry it
 * @property {number} t0      setup time, ms since the epoch
 */

/**
 * What `setup()` returns in every script: a fresh run id, so that users of this run are new to
 * the gateway (no per-user state left from an earlier run) and its messages are told apart from
 * other traffic in the same rooms.
 * @returns {RunData}
 */
export function newRun() {
  return { runId: Math.random().toString(36).slice(2, 10).padEnd(8, '0'), t0: Date.now() };
}

const ROOM_RE = /^[a-z0-9][a-z0-9:_-]{0,63}$/;

/**
 * Room id `<ROOM_PREFIX>-<suffix>` (`-e ROOM_PREFIX=k6`), checked against the protocol's pattern.
 * @param {string | number} suffix
 * @returns {string}
 */
export function roomName(suffix) {
  const room = `${envString('ROOM_PREFIX', 'k6')}-${suffix}`;
  if (!ROOM_RE.test(room)) throw new Error(`room id "${room}" does not match ${ROOM_RE} (check -e ROOM_PREFIX)`);
  return room;
}

/**
 * Plain, clean words (checked against obscenity's English preset, alone and in random
 * sentences): texts built from them pass keyword filters, and random 8-word picks are far apart,
 * so the spam filter's duplicate / near-duplicate / coordinated-campaign rules stay quiet.
 */
const WORDS = (
  'river mountain coffee yellow garden pixel rocket window forest orange piano sunset meadow lantern harbor ' +
  'pebble violet thunder canyon breeze marble candle velvet comet island puzzle ribbon saddle tunnel walnut ' +
  'zebra anchor basket bridge butter cactus castle cherry cloud copper desert dragon engine feather fiddle ' +
  'garlic ginger guitar hammer honey jacket jungle kettle ladder lemon magnet maple mirror monkey needle noodle ' +
  'ocean olive paddle parrot pepper pillow planet pocket pumpkin rabbit radio raven robot salmon shadow silver ' +
  'spider spoon squirrel stable summer sweater teapot tiger tomato tractor turtle umbrella valley wagon whistle ' +
  'winter wizard yogurt acorn album arrow badge bamboo banjo beacon biscuit blanket bottle bubble bucket button ' +
  'cabin camera carpet cereal chimney circus clover cobweb cookie cotton crayon cricket cupcake daisy dolphin ' +
  'donkey drum eagle easel falcon fern finch flute fossil galaxy gazelle glacier goblet gravel hedgehog helmet ' +
  'hiking igloo jigsaw juggler kayak kiwi koala ladle lagoon lily llama lobster locket mango mitten moose mosaic ' +
  'muffin nectar nutmeg oyster panda pelican penguin pickle pigeon pirate poppy pretzel quilt raisin recipe ' +
  'reindeer saffron sailboat scarf seashell sketch sloth snowman sparrow spinach sprout starfish sundial swan ' +
  'tambourine tulip turnip unicorn vanilla vase waffle walrus weasel willow yodel zeppelin zucchini amber autumn ' +
  'blossom breezy calm chilly cozy crisp dusty fancy fluffy fuzzy gentle glossy happy jolly lively lucky mellow ' +
  'misty quiet rusty shiny silky sleepy sunny tiny tidy witty'
).split(' ');

/**
 * `n` random words.
 * @param {number} n
 * @returns {string}
 */
export function randomWords(n) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(WORDS[Math.floor(Math.random() * WORDS.length)]);
  return out.join(' ');
}

/**
 * A chat text carrying its intended send time: `k6 <runId> <intended ms> <words>`. Receivers
 * measure latency from the intended time, not from when the send actually happened, so a late
 * sender (a busy load generator, a stall) shows as latency instead of hiding it (no coordinated
 * omission).
 * @param {string} runId
 * @param {number} intendedMs
 * @param {number} [words]
 * @returns {string}
 */
export function stampedText(runId, intendedMs, words) {
  return `k6 ${runId} ${intendedMs} ${randomWords(words || 8)}`;
}

const STAMP_RE = /^k6 ([a-z0-9]+) (\d+) /;

/**
 * The intended send time stamped into a text by this run, or -1 (another run's or someone
 * else's message, or a text the gateway changed).
 * @param {unknown} text
 * @param {string} runId
 * @returns {number}
 */
export function readStamp(text, runId) {
  if (typeof text !== 'string') return -1;
  const m = STAMP_RE.exec(text);
  if (!m || m[1] !== runId) return -1;
  return Number(m[2]);
}

/**
 * Error code of a reply (`{ ok:false, error:{ code } }`), "ok", or "no_reply" / "malformed".
 * @param {any} reply
 * @returns {string}
 */
export function replyCode(reply) {
  if (reply === undefined || reply === null) return 'no_reply';
  if (reply.ok === true) return 'ok';
  if (reply.error && typeof reply.error.code === 'string') return reply.error.code;
  return 'malformed';
}

/**
 * Short text of a reply, for log lines.
 * @param {unknown} reply
 * @returns {string}
 */
export function brief(reply) {
  const s = JSON.stringify(reply);
  return s === undefined ? String(reply) : s.length > 300 ? `${s.slice(0, 300)}…` : s;
}

/** Log lines printed once per VU and key: a misconfigured run should not print one per iteration. */
/** @type {Record<string, boolean>} */
const warned = {};

/**
 * @param {string} key
 * @param {string} message
 */
export function warnOnce(key, message) {
  if (warned[key]) return;
  warned[key] = true;
  console.warn(message);
}
