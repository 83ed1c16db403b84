import { dotMayLink } from './links.ts';

/**
 * The shape of a message, in one linear pass over its code points: mentions, caps, the longest
 * run of one character, the longest stack of combining marks. The flood rules read these.
 */

export interface TextShape {
  /** `@name` tokens: `@` at the start or after white space / an opening bracket, then a name character. */
  mentions: number;
  /** Letters that have an upper and a lower case (Latin, Greek, Cyrillic, Armenian, full-width Latin). */
  cased: number;
  upper: number;
  /** Longest run of one code point, white space excluded. */
  maxRun: number;
  /** Longest run of combining marks ("zalgo" stacks them on one letter). */
  maxCombining: number;
  /** Link extraction is worth running: the same test as links.ts mayContainLink. */
  maybeLink: boolean;
}

export function emptyShape(): TextShape {
  return { mentions: 0, cased: 0, upper: 0, maxRun: 0, maxCombining: 0, maybeLink: false };
}

const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x3000 || (c >= 0x2000 && c <= 0x200a);

/** Combining mark blocks used for stacking (Unicode "Combining Diacritical Marks" and friends). */
export function isCombining(c: number): boolean {
  return (c >= 0x300 && c <= 0x36f) || (c >= 0x1ab0 && c <= 0x1aff) || (c >= 0x1dc0 && c <= 0x1dff) || (c >= 0x20d0 && c <= 0x20ff) || (c >= 0xfe20 && c <= 0xfe2f) || (c >= 0x483 && c <= 0x489);
}

function isNameChar(c: number): boolean {
  if (c < 128) return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  // Non-ASCII letters (names in other scripts); punctuation blocks are not names.
  return !(c >= 0x2000 && c <= 0x2bff) && !(c >= 0x3000 && c <= 0x303f) && !isSpace(c);
}

/** Fills `out` (reused by the caller: no allocation on the hot path) and returns it. */
export function analyzeShape(text: string, out: TextShape = emptyShape()): TextShape {
  let mentions = 0;
  let cased = 0;
  let upper = 0;
  let maxRun = 0;
  let run = 0;
  let prev = -1;
  let comb = 0;
  let maxComb = 0;
  let boundary = true; // at the start or after white space / an opening bracket
  let maybeLink = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
        i++;
      }
    }
    const space = c < 128 ? c === 32 || (c >= 9 && c <= 13) : isSpace(c);
    if (space) {
      run = 0;
      prev = -1;
    } else if (c === prev) {
      if (++run > maxRun) maxRun = run;
    } else {
      prev = c;
      run = 1;
      if (maxRun === 0) maxRun = 1;
    }
    if (c >= 0x300 && isCombining(c)) {
      if (++comb > maxComb) maxComb = comb;
    } else {
      comb = 0;
    }
    if (c < 128) {
      if (c >= 65 && c <= 90) {
        cased++;
        upper++;
      } else if (c >= 97 && c <= 122) cased++;
      else if (c === 64 && boundary && i + 1 < n && isNameChar(text.charCodeAt(i + 1))) mentions++;
      if (!maybeLink) {
        if (c === 46) maybeLink = dotMayLink(text, i);
        else if (c === 47) maybeLink = text.charCodeAt(i + 1) === 47;
        else if ((c | 32) === 100 && (text.charCodeAt(i + 1) | 32) === 111 && (text.charCodeAt(i + 2) | 32) === 116) maybeLink = true;
      }
    } else if (c === 0x3002 || c === 0xff0e || c === 0xff61 || c === 0xfe52) {
      maybeLink = true; // ideographic / full-width stops
    } else if ((c >= 0xc0 && c < 0x590) || (c >= 0xff21 && c <= 0xff5a)) {
      // Only these blocks have case; everything else (CJK, emoji, marks) counts as uncased.
      const s = String.fromCharCode(c);
      const lo = s.toLowerCase();
      const up = s.toUpperCase();
      if (lo !== up) {
        cased++;
        if (s === up) upper++;
      }
    }
    boundary = space || c === 40 || c === 91 || c === 123 || c === 44;
  }
  out.mentions = mentions;
  out.cased = cased;
  out.upper = upper;
  out.maxRun = maxRun;
  out.maxCombining = maxComb;
  out.maybeLink = maybeLink;
  return out;
}
