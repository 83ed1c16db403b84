/**
 * Domain allow and block lists, managed at run time, subdomain aware: an entry `example.com`
 * covers `example.com`, `www.example.com` and `a.b.example.com`, not `badexample.com`.
 *
 * When both lists cover a host, the more specific entry wins (allow `example.com` + block
 * `evil.example.com` blocks only the latter); at equal specificity the block list wins. A lookup
 * walks the host's suffixes: O(labels) map lookups, independent of list size.
 */

/** Categories a block entry may carry (rules/ policy ids): `fraud_scam` for scam domains. */
export type BlockCategory = 'spam' | 'fraud_scam';

export interface DomainEntry {
  domain: string;
  /** Block list only: the category a match is refused under. */
  category?: BlockCategory;
}

export interface DomainListApi {
  /** Adds (or re-categorises) an entry. Returns false for a value that is not a domain.
   *  `category` only means something on the block list (default `spam`). */
  add(domain: string, category?: BlockCategory): boolean;
  remove(domain: string): boolean;
  list(): DomainEntry[];
  /** The entry covering `host` (itself or a parent domain), if any. */
  match(host: string): DomainEntry | undefined;
  readonly size: number;
}

const MAX_DOMAIN_CHARS = 253; // RFC 1035 limit on a full domain name
const MAX_LABEL_CHARS = 63;

/**
 * Accepts what operators paste: `Example.COM`, `*.example.com`, `.example.com`,
 * `https://www.example.com/path`, `example.com.`. Returns the bare lower-case domain, or
 * undefined when it is not one (spaces, empty labels, bad characters, too long).
 */
export function normalizeDomain(input: string): string | undefined {
  let d = input.trim().toLowerCase();
  const scheme = d.indexOf('://');
  if (scheme !== -1) d = d.slice(scheme + 3);
  const end = firstOf(d, '/?#');
  if (end !== -1) d = d.slice(0, end);
  const at = d.lastIndexOf('@');
  if (at !== -1) d = d.slice(at + 1);
  const colon = d.indexOf(':');
  if (colon !== -1) d = d.slice(0, colon);
  if (d.startsWith('*.')) d = d.slice(2);
  while (d.startsWith('.')) d = d.slice(1);
  while (d.endsWith('.')) d = d.slice(0, -1);
  if (d.length === 0 || d.length > MAX_DOMAIN_CHARS) return undefined;
  if (d.normalize('NFKC') !== d) d = d.normalize('NFKC');
  for (const label of d.split('.')) {
    if (label.length === 0 || label.length > MAX_LABEL_CHARS) return undefined;
    if (label.startsWith('-') || label.endsWith('-')) return undefined;
    for (const ch of label) {
      const c = ch.codePointAt(0)!;
      const ascii = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 45 || c === 95;
      if (!ascii && (c < 0x80 || !/^[\p{L}\p{N}\p{M}]$/u.test(ch))) return undefined;
    }
  }
  return d;
}

function firstOf(s: string, chars: string): number {
  for (let i = 0; i < s.length; i++) if (chars.includes(s[i]!)) return i;
  return -1;
}

export class DomainList implements DomainListApi {
  private readonly entries = new Map<string, DomainEntry>();

  constructor(
    /** Block lists: the category of entries added without one; allow lists: undefined. */
    private readonly defaultCategory: BlockCategory | undefined,
    private readonly capacity: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  add(domain: string, category: BlockCategory | undefined = this.defaultCategory): boolean {
    const d = normalizeDomain(domain);
    if (d === undefined) return false;
    if (!this.entries.has(d) && this.entries.size >= this.capacity) {
      throw new RangeError(`domain list is full (${this.capacity} entries)`);
    }
    const cat = this.defaultCategory === undefined ? undefined : category;
    this.entries.set(d, Object.freeze(cat === undefined ? { domain: d } : { domain: d, category: cat }));
    return true;
  }

  remove(domain: string): boolean {
    const d = normalizeDomain(domain);
    return d !== undefined && this.entries.delete(d);
  }

  list(): DomainEntry[] {
    return [...this.entries.values()].sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
  }

  match(host: string): DomainEntry | undefined {
    if (this.entries.size === 0) return undefined;
    for (let i = 0; ; ) {
      const e = this.entries.get(i === 0 ? host : host.slice(i));
      if (e) return e;
      const dot = host.indexOf('.', i);
      if (dot === -1) return undefined;
      i = dot + 1;
    }
  }

  /** Length of the matching suffix (specificity), or -1. */
  matchLength(host: string): number {
    if (this.entries.size === 0) return -1;
    for (let i = 0; ; ) {
      if (this.entries.has(i === 0 ? host : host.slice(i))) return host.length - i;
      const dot = host.indexOf('.', i);
      if (dot === -1) return -1;
      i = dot + 1;
    }
  }
}

export type DomainVerdict = { kind: 'allow' } | { kind: 'block'; entry: DomainEntry } | undefined;

/** Both lists together: the more specific entry decides; a tie goes to the block list. */
export function classifyHost(allow: DomainList, block: DomainList, host: string): DomainVerdict {
  const b = block.matchLength(host);
  const a = allow.matchLength(host);
  if (b === -1 && a === -1) return undefined;
  if (b >= a) return { kind: 'block', entry: block.match(host)! };
  return { kind: 'allow' };
}
