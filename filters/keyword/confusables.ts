/**
 * Homoglyphs: characters that look like a Latin letter but are not one, and that Unicode
 * compatibility decomposition (NFKD) does not already fold. NFKD handles fullwidth forms
 * (ｆ), mathematical alphanumerics (𝐟 𝑓 𝒇 𝓯 𝔣 𝕗 𝖋 𝗳 𝘧 𝙛 𝚏), circled and parenthesised
 * letters (ⓕ ⒡), superscripts and modifier letters (ᶠ ᵘ), letter-like symbols (ℂ ℓ) and
 * ligatures (ﬁ); this table covers what it leaves: other scripts' look-alikes (Cyrillic, Greek,
 * Armenian, Cherokee), small capitals, IPA and stroked Latin letters, a few math symbols, and the
 * enclosed/regional-indicator letter blocks (handled as ranges in `confusableOf`).
 *
 * Sources: Unicode UTS #39 `confusables.txt` (the "MA" mappings to Latin lowercase), and the
 * table shipped by obscenity (`resolveConfusablesTransformer`, from github.com/gc/confusables),
 * both filtered by hand to characters that people actually use to dodge filters and that read as
 * the letter in common fonts. Kept compact on purpose: every entry is one more way a legitimate
 * non-Latin word can collide with a Latin term, so an entry is added when an evasion is seen,
 * not because a font makes two glyphs alike. Currency and legal signs (€ ¢ ¥ © ®) are left out:
 * they are common in ordinary messages ("100€") and rare in evasions.
 *
 * Keys are looked up on the raw character first (so that Greek capital Η reads as h while the
 * lowercase η reads as n) and then on its lowercase form. Values are lowercase Latin; the value
 * `IL` stands for "i or l" (see normalize.ts).
 */

/** Target → look-alikes. A target of more than one letter (ß → ss) is a multi-letter expansion. */
const TABLE: Readonly<Record<string, string>> = {
  a: 'аАαΑɑɐ∂⍺ᴀꭺᎪ∀ӑӓ',
  b: 'вВβΒϐʙƀɓьЬбᏴ♭Ƀ',
  c: 'сСϲϹᴄƈɕᏟ',
  d: 'ԁԀᴅɗɖđĐᎠ',
  e: 'еЕεΕᴇɛɘǝ℮ЄєҽᎬ',
  f: 'ꜰƒϝ',
  g: 'ɢɡɠᏀ',
  h: 'һҺнНΗʜħĦɦհᎻ',
  i: 'іιɪıɨɩї',
  j: 'јЈϳᴊȷɟᎫ',
  k: 'кКκΚᴋƙᏦ',
  l: 'ʟłŁɫɭᏞ',
  m: 'мМΜᴍɱᎷ',
  n: 'пПηɴɲŋոΝ',
  o: 'оОοΟσᴏøØɵօ',
  p: 'рРρΡᴘƥᏢ',
  q: 'ԛԚʠ',
  r: 'гʀɍɽяЯ',
  s: 'ѕЅꜱʂᏚ',
  t: 'тТτΤᴛŧŦƭʈᎢ',
  u: 'υμᴜʉʋսц',
  v: 'νᴠʌᏙ',
  w: 'ԝԜωᴡɯшШᎳ',
  x: 'хХχΧ',
  y: 'уУγΥʏƴүҮ',
  z: 'ᴢƶƵʐȥΖᏃ',
  ss: 'ß',
  ae: 'æ',
  oe: 'œ',
  // Glyphs that read as a capital I or a lowercase l: the same "i or l" class as the digit 1.
  '\u{1}IL': 'ǀ∣ΙІӀӏ',
};

/** Sentinel value in the table above for the "i or l" class. */
export const IL_TARGET = '\u{1}IL';

const MAP: ReadonlyMap<number, string> = (() => {
  const m = new Map<number, string>();
  for (const [target, alikes] of Object.entries(TABLE)) {
    for (const ch of alikes) m.set(ch.codePointAt(0)!, target);
  }
  return m;
})();

// Letter blocks that are not decomposed by NFKD: negative circled (🅐) and negative squared (🅰)
// capitals, and regional indicators (🇦, shown as flag pairs but as letters when alone).
const RANGES: readonly (readonly [from: number, to: number])[] = [
  [0x1f150, 0x1f169],
  [0x1f170, 0x1f189],
  [0x1f1e6, 0x1f1ff],
];

/**
 * The Latin letters a character stands for (lowercase, or `IL_TARGET`), or undefined when it is
 * not a known homoglyph.
 */
export function confusableOf(cp: number): string | undefined {
  const direct = MAP.get(cp);
  if (direct !== undefined) return direct;
  for (const [from, to] of RANGES) {
    if (cp >= from && cp <= to) return String.fromCharCode(0x61 + cp - from);
  }
  return undefined;
}
