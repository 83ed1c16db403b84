/**
 * The first real check on the path: a text message must carry something a person can see. Text made
 * only of whitespace, zero-width or other invisible characters is refused as `invalid` (it renders
 * as an empty line in every client and is a favourite of flooders). Pure and synchronous.
 */
import type { Filter, Verdict } from './pipeline.ts';

// White space, controls, format characters (zero-width joiners, bidi marks), variation selectors,
// combining marks on nothing, the Hangul/Braille "blank" letters often used to fake an empty message.
const INVISIBLE = /^[\s\p{Cc}\p{Cf}\p{Zs}\p{M}\u115F\u1160\u3164\uFFA0\u2800\uFE00-\uFE0F]*$/u;

const PASS: Verdict = { action: 'pass' };
const EMPTY: Verdict = {
  action: 'drop',
  error: { code: 'invalid', message: 'message text has no visible characters', issues: ['text: no visible characters'] },
};

export const visibleText: Filter = {
  name: 'visible-text',
  kinds: ['text'],
  timeoutMs: 1,
  onFailure: 'pass',
  neverSkip: true,
  check(msg) {
    if (msg.text === undefined || msg.image) return PASS;
    // Most messages start with a printable ASCII character, which is visible: no regex run.
    const c = msg.text.charCodeAt(0);
    if (c > 0x20 && c < 0x7f) return PASS;
    return INVISIBLE.test(msg.text) ? EMPTY : PASS;
  },
};
