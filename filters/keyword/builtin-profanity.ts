/**
 * The built-in profanity list: obscenity's English dataset (`englishDataset`, words from the
 * `cuss` project with obscenity's hand-written patterns) converted into our terms, plus its
 * whitelist as allow entries, plus our own Scunthorpe allow entries.
 *
 * Conversion of an obscenity pattern: `|` at the start/end (word boundary) gives the mode
 * (both → word, start → prefix, end → suffix, none → anywhere); `[x]` (optional) and `?` (any
 * character, expanded to a–z) are expanded into plain spellings, which our normaliser then
 * matches with its own leetspeak, homoglyph and repeat handling.
 */
import { englishDataset, SyntaxKind, type ParsedPattern } from 'obscenity';
import { termString, type KeywordAction, type TermInput, type TermMode } from './terms.ts';

export const BUILTIN_CATEGORY = 'profanity';
export const BUILTIN_ID_PREFIX = 'builtin';

/**
 * Words that obscenity's patterns flag but that are ordinary English or place names: each one is
 * a false positive we choose to fix (and so a deliberate disagreement with obscenity).
 */
const SCUNTHORPE_ALLOW: readonly string[] = [
  'cockpit*', // |cockp
  'cumin', // |cum
  'cum laude', // |cum
  'penistone', // penis (a town in Yorkshire)
  'rapeseed*', // |rape
  'retardant*', // retard (flame retardant)
  'assort*', // |ass (obscenity whitelists assa/asse/assi/asso… but not assor)
  'assyria*', // |ass
  'dickson', // dick
  'dickinson', // dick
];

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
/** Bound on spellings of one pattern; obscenity's largest (d[o]g[g]ys[s]t[y]l[l]) has 32. */
const MAX_EXPANSIONS = 256;

/** All plain spellings of an obscenity pattern. */
export function expandPattern(p: ParsedPattern): string[] {
  let out = [''];
  for (const node of p.nodes) {
    const options: string[] = [];
    const addNode = (n: ParsedPattern['nodes'][number]) => {
      if (n.kind === SyntaxKind.Literal) options.push(String.fromCodePoint(...n.chars));
      else if (n.kind === SyntaxKind.Wildcard) options.push(...LETTERS);
      else {
        options.push('');
        addNode(n.childNode);
      }
    };
    addNode(node);
    out = out.flatMap((prefix) => options.map((o) => prefix + o));
    if (out.length > MAX_EXPANSIONS) throw new RangeError(`pattern expands to more than ${MAX_EXPANSIONS} spellings`);
  }
  return out.filter((s) => s.trim().length > 0);
}

function modeOf(p: ParsedPattern): TermMode {
  if (p.requireWordBoundaryAtStart && p.requireWordBoundaryAtEnd) return 'word';
  if (p.requireWordBoundaryAtStart) return 'prefix';
  if (p.requireWordBoundaryAtEnd) return 'suffix';
  return 'anywhere';
}

/**
 * The built-in list as term inputs: one term per spelling (id `builtin:<word>`, shared by the
 * spellings of one word), the dataset's whitelist as `*entry*` allow entries (entries with digits
 * are left out: our normaliser reads "45s" as a number, not as "ass"), and SCUNTHORPE_ALLOW.
 */
export function builtinProfanityTerms(action: KeywordAction = 'mask'): TermInput[] {
  const { blacklistedTerms, whitelistedTerms } = englishDataset.build();
  const out: TermInput[] = [];
  const seen = new Set<string>();
  for (const { id, pattern } of blacklistedTerms) {
    const word = englishDataset.getPayloadWithPhraseMetadata({ termId: id, startIndex: 0, endIndex: 0, matchLength: 0 }).phraseMetadata?.originalWord ?? `term${id}`;
    const mode = modeOf(pattern);
    for (const text of expandPattern(pattern)) {
      const term = termString(text.trim(), mode);
      if (seen.has(term)) continue;
      seen.add(term);
      out.push({ id: `${BUILTIN_ID_PREFIX}:${word}`, term, category: BUILTIN_CATEGORY, severity: 'low', action });
    }
  }
  const allow = (term: string) => {
    if (seen.has(term)) return;
    seen.add(term);
    out.push({ id: `${BUILTIN_ID_PREFIX}:allow:${term.replace(/\*/g, '')}`, term, action: 'allow' });
  };
  for (const w of whitelistedTerms ?? []) if (!/\d/.test(w)) allow(`*${w}*`);
  for (const w of SCUNTHORPE_ALLOW) allow(w);
  return out;
}
