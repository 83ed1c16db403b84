/**
 * Term lists: the shape of a term, its wildcard syntax, and validation.
 *
 * A term is matched on normalised text (normalize.ts), so "fuck" also catches "FÜÜCK", "f.u.c.k"
 * and "ƒυ¢к". Where it may match is its mode, written with wildcards as the big platforms do:
 *
 *   word       whole word (default)          "ass"   → "ass", "a$$", not "class", "assassin"
 *   word*      prefix: starts a word          "ass*"  → also "asshole"
 *   *word      suffix: ends a word            "*hole" → "asshole", "hole"
 *   *word*     anywhere                       "*ass*" → also "class" (rarely what you want)
 *
 * A space inside a term ("jerk off") matches any separator or none ("jerk-off", "jerkoff").
 * An `allow` entry suppresses the matches it contains (the Scunthorpe problem: "assassin*"
 * keeps "ass*" from firing inside "assassins"). An allow entry is literal about separators: a
 * space in it needs whitespace in the text, punctuation needs a separator ("kung-fu" allows
 * "Kung-Fu" and "Kung.Fu", "kung fu" only "Kung Fu"), and it never matches across separators it
 * did not write ("a s s a s s i n", "w.h.o.r.e" are evasion, not the allowed word).
 *
 * Validation here is structural and cheap (no normalisation), because a list of 100k terms is
 * validated on the event loop; terms that normalise to fewer than two letters are dropped by the
 * build (off the loop) and reported there.
 */
import type { Severity } from '../pipeline.ts';

export type { Severity };
export type TermMode = 'word' | 'prefix' | 'suffix' | 'anywhere';
export type KeywordAction = 'mask' | 'hold' | 'block';
export type TermAction = KeywordAction | 'allow';

/** A term as stored and listed (canonical form). */
export interface Term {
  id: string;
  /** Canonical text with its wildcards: lowercase, NFKC, single spaces. */
  term: string;
  category: string;
  severity: Severity;
  action: TermAction;
  mode: TermMode;
}

/** A term as given to `TermLists.add`: only `term` is required. */
export interface TermInput {
  id?: string;
  /** Text with optional wildcards (`word`, `word*`, `*word`, `*word*`). */
  term: string;
  /** Default `custom` (`allow` for allow entries). */
  category?: string;
  /** Default `medium`. */
  severity?: Severity;
  /** Default `block`. */
  action?: TermAction;
  /** Only when `term` has no wildcard; the wildcard form wins otherwise. */
  mode?: TermMode;
}

export const SEVERITIES: readonly Severity[] = ['low', 'medium', 'high', 'critical'];
export const TERM_MODES: readonly TermMode[] = ['word', 'prefix', 'suffix', 'anywhere'];
export const TERM_ACTIONS: readonly TermAction[] = ['mask', 'hold', 'block', 'allow'];

/** Longest term text: real terms and phrases are far shorter; bounds the automaton depth. */
export const MAX_TERM_CHARS = 64;
/** Terms per list: 250k keeps a list's automaton under ~60 MB and its build well under a second. */
export const MAX_TERMS_PER_LIST = 250_000;
const MAX_ID_CHARS = 128;
const CATEGORY = /^[a-z0-9][a-z0-9_.-]{0,47}$/;
const CONTROL = /[\p{Cc}\p{Cs}]/u;
const TWO_WORD_CHARS = /[\p{L}\p{N}].*[\p{L}\p{N}]/su;

/** Invalid terms or scope, with one issue per problem, each naming its path. */
export class TermListError extends Error {
  readonly code = 'invalid';
  constructor(readonly issues: string[]) {
    super(`invalid term list: ${issues.slice(0, 5).join('; ')}${issues.length > 5 ? `; … ${issues.length - 5} more` : ''}`);
    this.name = 'TermListError';
  }
}

export interface ParsedTerm {
  /** Canonical text without wildcards. */
  text: string;
  mode: TermMode;
}

const PRINTABLE_ASCII = /^[\x21-\x7e]+(?: [\x21-\x7e]+)*$/;

/** Canonical text of a term string: NFKC, lowercase, trimmed, runs of whitespace as one space. */
function canonicalText(s: string): string {
  // Fast path for the common case (plain ASCII words, single spaces): no NFKC, no regex replace.
  if (PRINTABLE_ASCII.test(s)) return s.toLowerCase();
  return s.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ');
}

/** At least two letters or digits: "a" or "!!" would match everywhere or nowhere. */
function hasTwoWordChars(text: string): boolean {
  let n = 0;
  for (let i = 0; i < text.length && n < 2; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39)) n++;
    else if (c >= 0x80) return TWO_WORD_CHARS.test(text);
  }
  return n >= 2;
}

/** Splits wildcards off a term string; returns an error message instead when malformed. */
export function parseTerm(raw: string, explicitMode?: TermMode): ParsedTerm | string {
  const s = canonicalText(raw);
  const lead = s.startsWith('*');
  const trail = s.length > 1 && s.endsWith('*');
  const text = lead || trail ? s.slice(lead ? 1 : 0, trail ? -1 : undefined).trim() : s;
  if (text.includes('*')) return 'wildcards (*) only at the start or the end';
  if (!hasTwoWordChars(text)) return 'needs at least two letters or digits';
  const wildMode: TermMode = lead && trail ? 'anywhere' : lead ? 'suffix' : trail ? 'prefix' : 'word';
  if (explicitMode !== undefined && (lead || trail) && explicitMode !== wildMode) return `mode ${explicitMode} contradicts the wildcards (${wildMode})`;
  return { text, mode: lead || trail ? wildMode : (explicitMode ?? 'word') };
}

/** The listed form of a term: its text with the wildcards of its mode. */
export function termString(text: string, mode: TermMode): string {
  return mode === 'word' ? text : mode === 'prefix' ? `${text}*` : mode === 'suffix' ? `*${text}` : `*${text}*`;
}

/** The key a term is stored and removed under: its canonical string. */
export function termKey(raw: string): string {
  const p = parseTerm(raw);
  return typeof p === 'string' ? canonicalText(raw) : termString(p.text, p.mode);
}

/**
 * Validates and canonicalises terms; throws TermListError naming every bad one
 * (`terms[3].term: ...`). `idPrefix` makes default ids (`<prefix>:<term>`). `from`/`to` validate
 * a slice of `input` (paths keep the index in the whole array).
 */
export function validateTerms(input: unknown, idPrefix: string, from = 0, to?: number): Term[] {
  if (!Array.isArray(input)) throw new TermListError(['terms: expected an array']);
  if (input.length > MAX_TERMS_PER_LIST) throw new TermListError([`terms: at most ${MAX_TERMS_PER_LIST} per list, got ${input.length}`]);
  const out: Term[] = [];
  const issues: string[] = [];
  const end = Math.min(to ?? input.length, input.length);
  for (let i = from; i < end; i++) {
    const t = input[i] as Partial<TermInput> | null;
    const at = `terms[${i}]`;
    if (t === null || typeof t !== 'object') {
      issues.push(`${at}: expected an object`);
      continue;
    }
    const before = issues.length;
    if (typeof t.term !== 'string') issues.push(`${at}.term: expected a string`);
    else if (t.term.length > MAX_TERM_CHARS) issues.push(`${at}.term: at most ${MAX_TERM_CHARS} characters`);
    else if (!PRINTABLE_ASCII.test(t.term) && CONTROL.test(t.term)) issues.push(`${at}.term: control characters are not allowed`);
    if (t.mode !== undefined && !TERM_MODES.includes(t.mode)) issues.push(`${at}.mode: one of ${TERM_MODES.join(', ')}`);
    if (t.action !== undefined && !TERM_ACTIONS.includes(t.action)) issues.push(`${at}.action: one of ${TERM_ACTIONS.join(', ')}`);
    if (t.severity !== undefined && !SEVERITIES.includes(t.severity)) issues.push(`${at}.severity: one of ${SEVERITIES.join(', ')}`);
    if (t.category !== undefined && (typeof t.category !== 'string' || !CATEGORY.test(t.category))) issues.push(`${at}.category: lowercase letters, digits, _ . - (≤ 48)`);
    if (t.id !== undefined && (typeof t.id !== 'string' || t.id.length === 0 || t.id.length > MAX_ID_CHARS)) issues.push(`${at}.id: a string of 1..${MAX_ID_CHARS} characters`);
    if (issues.length > before) continue;
    const parsed = parseTerm(t.term!, t.mode);
    if (typeof parsed === 'string') {
      issues.push(`${at}.term: ${parsed}`);
      continue;
    }
    const action = t.action ?? 'block';
    const term = termString(parsed.text, parsed.mode);
    out.push({
      id: t.id ?? `${idPrefix}:${term}`,
      term,
      category: t.category ?? (action === 'allow' ? 'allow' : 'custom'),
      severity: t.severity ?? 'medium',
      action,
      mode: parsed.mode,
    });
  }
  if (issues.length) throw new TermListError(issues);
  return out;
}

/** Where a matched term came from: the built-in list, the global list or a room's list. */
export type ListName = 'builtin' | 'global' | `room:${string}`;

/** A list that TermLists manages: `global` or `room:<id>`. */
export type Scope = 'global' | `room:${string}`;

const ROOM_SCOPE = /^room:[^\s]{1,128}$/;

export function isScope(s: unknown): s is Scope {
  return s === 'global' || (typeof s === 'string' && ROOM_SCOPE.test(s));
}

export function assertScope(s: unknown): asserts s is Scope {
  if (!isScope(s)) throw new TermListError([`scope: "global" or "room:<id>", got ${JSON.stringify(s)}`]);
}

export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { low: 0, medium: 1, high: 2, critical: 3 };
export const ACTION_RANK: Readonly<Record<KeywordAction, number>> = { mask: 1, hold: 2, block: 3 };
