/**
 * Link extraction for the link rules and the domain lists. Linear time, no regular expression on
 * user input (DESIGN.md: no backtracking on what users type): one pass undoes the usual
 * obfuscations, one pass cuts tokens, each token is parsed once.
 *
 * What counts as a link (decisions, tested in test/filters/spam/links.test.ts):
 * - anything with a scheme (`http://`, `https://`, `ftp://`, `//host`) or `www.`: a `url`;
 * - a bare `label.tld` whose TLD is in COMMON_TLDS: a `domain` (`example.com`, `bit.ly/x`);
 * - TLDs that are also short English words (AMBIGUOUS_TLDS: `me`, `it`, `is`, `to`, `be`...)
 *   only with a path, three or more labels, a well-known short host (`t.me`, `youtu.be`), or
 *   obfuscation — so "will.be there" and "yes.it works" are not links;
 * - `name@domain.tld`: an `email` (the domain goes through the block list; it is not a link for
 *   the link-count and links-allowed rules);
 * - not links: "e.g.", "i.e.", "3.5", "1.2.3", "file.txt", "node.js", "index.html", a bare IP
 *   address (versions look the same), `@name` mentions.
 * Obfuscations undone (and flagged `obfuscated`): `hxxp(s)`, `[.]` `(.)` `{.}`, `[dot]` `(dot)`
 * `{dot}` `<dot>` with or without spaces around, `[:]`, "example dot com" (when the right side
 * is a common TLD and the left is not a stop word), the ideographic full stop `。`, and
 * full-width / compatibility forms (NFKC).
 */

export type LinkKind = 'url' | 'domain' | 'email';

export interface LinkMatch {
  /** Lower-case host name, no port, no trailing dot. */
  host: string;
  kind: LinkKind;
  /** Written in a disguised form (hxxp, [.], "dot"...). */
  obfuscated: boolean;
}

/** Hosts extracted from one message at most: 500-character messages, bounded work downstream. */
export const MAX_LINKS_EXTRACTED = 32;

/**
 * TLDs recognised without a scheme: the generic ones, the ccTLDs used as generics by link
 * shorteners and streaming sites, and the cheap TLDs spam campaigns favour. Not every TLD:
 * `txt`, `js`, `py`, `md`, `html`, `world` are file extensions or words far more often than links
 * in chat.
 */
export const COMMON_TLDS: ReadonlySet<string> = new Set(
  (
    'com net org info biz io co tv gg ly cc ws xyz top club online site store shop live app dev link click pw tk ml ga cf gq ' +
    'ru su cn uk de fr nl eu ca au br jp kr pl es ua vip win bid loan work party review stream download racing date faith ' +
    'trade science men cam icu buzz monster rest fun space website tech life news blog cloud page ai gl gd fm sh gift ' +
    'codes money cash finance crypto bet casino porn sex xxx adult dating tube video games game chat social support help ' +
    'email zip mov lat rip cyou sbs cfd bond quest today best'
  ).split(' '),
);

/** TLDs that are also everyday words: a bare `word.tld` needs more evidence (see module comment). */
export const AMBIGUOUS_TLDS: ReadonlySet<string> = new Set('me be it is at in to us no so do my am an id as go by'.split(' '));

/** Short hosts on ambiguous TLDs that are links on their own. */
export const KNOWN_SHORT_HOSTS: ReadonlySet<string> = new Set(['t.me', 'wa.me', 'youtu.be', 'is.gd', 'v.gd', 'bit.do', 'ow.ly', 'telegram.me', 'discord.me']);

/** Words that end sentences before "dot com" in prose ("the dot com bubble"). */
const DOT_STOP_WORDS: ReadonlySet<string> = new Set('the a an this that my your his her our their its one no dot'.split(' '));

const EMPTY: LinkMatch[] = [];

/**
 * Cheap precheck: every link form contains a dot followed by a letter (a TLD, perhaps after the
 * spaces and closing bracket of a disguise like "example (.) com"), a "//" (a scheme, whose host
 * may be an IP address), an ideographic/full-width stop or "dot". Numbers ("3.5", "t=12.25"),
 * "1.2.3" and sentence ends ("ok.") skip the extraction.
 */
export function mayContainLink(text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (dotMayLink(text, i)) return true;
    } else if (c === 0x3002 || c === 0xff0e || c === 0xff61 || c === 0xfe52) return true;
    else if (c === 47 && text.charCodeAt(i + 1) === 47) return true;
    else if ((c | 32) === 100 && i + 2 < n && (text.charCodeAt(i + 1) | 32) === 111 && (text.charCodeAt(i + 2) | 32) === 116) return true;
  }
  return false;
}

/**
 * Whether the '.' at `i` may belong to a link: a TLD's first letter must follow it, at once or
 * after the closing bracket of a disguise ("example (.) com", "example [ . ] com"). A dot before
 * white space ("ok. fine"), digits ("3.5"), punctuation or another dot ("...": that one is
 * judged on its own) is not a link, unless it ends "www". Linear over a text: the run skipped after one dot never reaches the next.
 */
export function dotMayLink(text: string, i: number): boolean {
  const n = text.length;
  let j = skipSpaces(text, i + 1);
  const b = text.charCodeAt(j);
  if (b === 93 || b === 41 || b === 125 || b === 62) j = skipSpaces(text, j + 1);
  else if (j > i + 1) return false;
  if (j >= n) return false;
  // A TLD starts with a letter; non-ASCII may fold to one (NFKC: full-width forms).
  const c = text.charCodeAt(j) | 32;
  if ((c >= 97 && c <= 122) || c > 127) return true;
  return i >= 3 && (text.charCodeAt(i - 1) | 32) === 119 && (text.charCodeAt(i - 2) | 32) === 119 && (text.charCodeAt(i - 3) | 32) === 119;
}

const isAsciiAlnum = (c: number) => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
const isSpaceCode = (c: number) => c === 32 || (c >= 9 && c <= 13);

/** Token delimiters: white space and characters that never appear in a host name. */
function isDelimiter(c: number): boolean {
  return c <= 32 || c === 34 || c === 39 || c === 60 || c === 62 || c === 40 || c === 41 || c === 91 || c === 93 || c === 123 || c === 125 || c === 124 || c === 92 || c === 94 || c === 96 || c === 44 || c === 59 || c === 33 || c === 42;
}

interface Canonical {
  text: string;
  /** Output offsets where an obfuscation was undone (ascending). */
  marks: number[];
}

/** Pass 1: lower case, compatibility forms, and the disguises undone. Linear: every input
 *  character is looked at a bounded number of times, output is collected in parts. */
function canonicalize(input: string): Canonical {
  let s = input;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 127) {
      s = s.normalize('NFKC');
      break;
    }
  }
  s = s.toLowerCase();
  const out = OUT.reset(s);
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i);
    // hxxp / hxxps → http / https
    if (c === 104 && s.charCodeAt(i + 1) === 120 && s.charCodeAt(i + 2) === 120 && s.charCodeAt(i + 3) === 112) {
      i = out.replace(i, 'http', i + 4);
      continue;
    }
    // Ideographic full stop (not folded by NFKC) used as a dot.
    if (c === 0x3002) {
      i = out.replace(i, '.', i + 1);
      continue;
    }
    // [.] (.) {.} <.> [dot] (dot) [:] — optionally with spaces inside and around.
    if (c === 91 || c === 40 || c === 123 || c === 60) {
      let j = skipSpaces(s, i + 1);
      let repl = '';
      if (s.charCodeAt(j) === 46) {
        repl = '.';
        j += 1;
      } else if (s.charCodeAt(j) === 100 && s.charCodeAt(j + 1) === 111 && s.charCodeAt(j + 2) === 116) {
        repl = '.';
        j += 3;
      } else if (s.charCodeAt(j) === 58) {
        repl = ':';
        j += 1;
      }
      if (repl) {
        j = skipSpaces(s, j);
        const close = s.charCodeAt(j);
        if (close === 93 || close === 41 || close === 125 || close === 62) {
          // "example [.] com": the spaces around a disguised dot go too.
          let e = i;
          if (repl === '.') while (e > out.copyFrom && isSpaceCode(s.charCodeAt(e - 1))) e--;
          i = out.replace(e, repl, repl === '.' ? skipSpaces(s, j + 1) : j + 1);
          continue;
        }
      }
    }
    // "example dot com": ` dot ` between a word and a common TLD.
    if (c === 32 && s.charCodeAt(i + 1) === 100 && s.charCodeAt(i + 2) === 111 && s.charCodeAt(i + 3) === 116 && s.charCodeAt(i + 4) === 32 && spelledDot(s, i)) {
      i = out.replace(i, '.', i + 5);
      continue;
    }
    i++;
  }
  return out.finish();
}

/**
 * canonicalize's output under construction: one instance, reset per call (canonicalize is
 * synchronous, so calls never overlap). Closures made per call would cost more than the scan
 * (tsx also wraps every named one in a __name() call).
 */
class CanonicalOut {
  private s = '';
  private parts: string[] = [];
  private marks: number[] = [];
  private len = 0;
  /** s[copyFrom, i) is still to be copied to the output. */
  copyFrom = 0;

  reset(s: string): this {
    this.s = s;
    this.parts = [];
    this.marks = [];
    this.len = 0;
    this.copyFrom = 0;
    return this;
  }

  /** Copies s up to `at`, writes `repl` (an undone disguise, marked) and resumes at `resume`. */
  replace(at: number, repl: string, resume: number): number {
    if (at > this.copyFrom) {
      this.parts.push(this.s.slice(this.copyFrom, at));
      this.len += at - this.copyFrom;
    }
    this.marks.push(this.len);
    this.parts.push(repl);
    this.len += repl.length;
    this.copyFrom = resume;
    return resume;
  }

  finish(): Canonical {
    const { s, parts, marks } = this;
    if (s.length > this.copyFrom) parts.push(s.slice(this.copyFrom));
    this.s = '';
    return { text: parts.length === 1 ? parts[0]! : parts.join(''), marks };
  }
}

const OUT = new CanonicalOut();

function skipSpaces(s: string, j: number): number {
  while (j < s.length && isSpaceCode(s.charCodeAt(j))) j++;
  return j;
}

/** At `i`, s has " dot ": is it "word dot tld"? Looks at most one label (63 chars) each way. */
function spelledDot(s: string, i: number): boolean {
  let a = i;
  while (a > 0 && i - a < 63 && isAsciiAlnum(s.charCodeAt(a - 1))) a--;
  if (a === i) return false;
  const left = s.slice(a, i);
  if (DOT_STOP_WORDS.has(left)) return false;
  let b = i + 5;
  while (b < s.length && b - (i + 5) < 63 && s.charCodeAt(b) >= 97 && s.charCodeAt(b) <= 122) b++;
  if (b < s.length && isAsciiAlnum(s.charCodeAt(b))) return false; // "dot com2" is not a TLD
  return COMMON_TLDS.has(s.slice(i + 5, b));
}

/** Extracts the hosts of links, domains and e-mail addresses in `text` (see the module comment). */
export function extractLinks(text: string, max: number = MAX_LINKS_EXTRACTED): LinkMatch[] {
  return mayContainLink(text) ? extractLinksUnchecked(text, max) : EMPTY;
}

/** extractLinks without the precheck (exported for the test that the precheck never hides a link). */
export function extractLinksUnchecked(text: string, max: number = MAX_LINKS_EXTRACTED): LinkMatch[] {
  const { text: s, marks } = canonicalize(text);
  let found: LinkMatch[] | undefined;
  let seen: Set<string> | undefined;
  let markIdx = 0;
  const n = s.length;
  let i = 0;
  while (i < n) {
    while (i < n && isDelimiter(s.charCodeAt(i))) i++;
    const start = i;
    let dotted = false;
    while (i < n && !isDelimiter(s.charCodeAt(i))) {
      if (s.charCodeAt(i) === 46) dotted = true;
      i++;
    }
    if (!dotted || i === start) continue;
    while (markIdx < marks.length && marks[markIdx]! < start) markIdx++;
    const obfuscated = markIdx < marks.length && marks[markIdx]! < i;
    const m = parseToken(s.slice(start, i), obfuscated);
    if (!m) continue;
    seen ??= new Set();
    if (seen.has(m.host)) continue;
    seen.add(m.host);
    (found ??= []).push(m);
    if (found.length >= max) break;
  }
  return found ?? EMPTY;
}

function indexOfAny(s: string, from: number, chars: string): number {
  for (let i = from; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return -1;
}

/** One token → a link, or undefined. */
function parseToken(token: string, obfuscated: boolean): LinkMatch | undefined {
  let rest = token;
  let scheme = false;
  const sep = token.indexOf('://');
  if (sep !== -1) {
    // "visit:http://x" → the scheme is the letters just before "://".
    let a = sep;
    while (a > 0 && token.charCodeAt(a - 1) >= 97 && token.charCodeAt(a - 1) <= 122) a--;
    if (a === sep) return undefined;
    scheme = true;
    rest = token.slice(sep + 3);
  } else if (token.startsWith('//')) {
    scheme = true;
    rest = token.slice(2);
  }
  const hostEnd = indexOfAny(rest, 0, '/?#');
  const hasPath = hostEnd !== -1 && rest.charCodeAt(hostEnd) === 47 && hostEnd + 1 < rest.length;
  let host = hostEnd === -1 ? rest : rest.slice(0, hostEnd);
  let kind: LinkKind = scheme ? 'url' : 'domain';
  const at = host.lastIndexOf('@');
  if (at !== -1) {
    if (!scheme) {
      if (at === 0) return undefined; // @mention
      kind = 'email';
    }
    host = host.slice(at + 1);
  }
  const colon = host.indexOf(':');
  if (colon !== -1) {
    const port = host.slice(colon + 1);
    // "re:example.com" is not host:port; "example.com:8080" is.
    if (port.length > 5 || (port.length > 0 && !isDigits(port))) return undefined;
    host = host.slice(0, colon);
  }
  // Trim what sentences put around words: "(example.com)." "…example.com?!"
  let a = 0;
  let b = host.length;
  while (a < b && !isHostChar(host.charCodeAt(a))) a++;
  while (b > a && !isHostChar(host.charCodeAt(b - 1))) b--;
  host = host.slice(a, b);
  if (host.length < 3 || host.length > 253) return undefined;
  const www = host.startsWith('www.');
  const labels = host.split('.');
  if (labels.length < 2) return undefined;
  let numeric = true;
  for (const label of labels) {
    if (!validLabel(label)) return undefined;
    if (numeric && !isDigits(label)) numeric = false;
  }
  const tld = labels[labels.length - 1]!;
  if (numeric) {
    // Dotted numbers: an IPv4 address only with a scheme (bare "1.2.3.4" is as likely a version).
    return scheme && labels.length === 4 && labels.every((l) => Number(l) <= 255) ? { host, kind, obfuscated } : undefined;
  }
  if (scheme || www) return isAlphaTld(tld) ? { host, kind: kind === 'domain' ? 'url' : kind, obfuscated } : undefined;
  if (COMMON_TLDS.has(tld)) return { host, kind, obfuscated };
  if (AMBIGUOUS_TLDS.has(tld)) {
    if (kind === 'email' || hasPath || labels.length >= 3 || KNOWN_SHORT_HOSTS.has(host) || obfuscated) return { host, kind, obfuscated };
  }
  return undefined;
}

function isHostChar(c: number): boolean {
  return isAsciiAlnum(c) || c > 127;
}

function isDigits(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return s.length > 0;
}

/** A TLD: letters only (or an IDN `xn--` label), at least two. */
function isAlphaTld(t: string): boolean {
  if (t.startsWith('xn--')) return t.length > 4;
  if (t.length < 2) return false;
  for (let i = 0; i < t.length; i++) {
    const c = t.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || c > 127)) return false;
  }
  return true;
}

function validLabel(l: string): boolean {
  if (l.length === 0 || l.length > 63) return false;
  if (l.charCodeAt(0) === 45 || l.charCodeAt(l.length - 1) === 45) return false;
  for (let i = 0; i < l.length; i++) {
    const c = l.charCodeAt(i);
    if (!(isAsciiAlnum(c) || c === 45 || c === 95 || c > 127)) return false;
  }
  return true;
}
