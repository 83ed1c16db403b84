/**
 * Due-process text: the policy's reason and note templates, and the human durations they show.
 * `{name}` placeholders only — no expressions — so a template can be validated at load time.
 */

/** Placeholders a reason or note may use, and what they become. */
export const TEMPLATE_PLACEHOLDERS = {
  title: "the category's title",
  category: 'the category id',
  strikes: 'active strikes including this one',
  duration: "the notice's duration (e.g. \"72 hours\", \"permanent\")",
  expiry: 'how long a strike stays active (e.g. "90 days")',
  window: 'how long a minor violation counts (e.g. "90 days")',
} as const;
export type TemplateVar = keyof typeof TEMPLATE_PLACEHOLDERS;

/** Placeholders of the appeal URL template. `caseId` is filled by the caller (`toNotice`). */
export const APPEAL_URL_PLACEHOLDERS = ['caseId', 'category', 'version'] as const;

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The placeholder names a template uses, in order of appearance. */
export function placeholders(template: string): string[] {
  return [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
}

/** Replaces known placeholders; unknown ones are left as written (validation rejects them first). */
export function renderTemplate(template: string, vars: Readonly<Record<string, string | number | undefined>>): string {
  return template.replace(PLACEHOLDER, (whole, name: string) => {
    const v = vars[name];
    return v === undefined ? whole : String(v);
  });
}

// Days, not weeks: notices read "30 days", never "4 weeks and 2 days".
const UNITS: readonly [number, string][] = [
  [86_400, 'day'],
  [3_600, 'hour'],
  [60, 'minute'],
  [1, 'second'],
];

/** 259200 → "3 days"; 90000 → "25 hours"; undefined → "permanent". Whole units only. */
export function formatDuration(sec: number | undefined | null): string {
  if (sec === undefined || sec === null) return 'permanent';
  for (const [size, name] of UNITS) {
    if (sec >= size && sec % size === 0) {
      const n = sec / size;
      return `${n} ${name}${n === 1 ? '' : 's'}`;
    }
  }
  return `${sec} seconds`;
}
