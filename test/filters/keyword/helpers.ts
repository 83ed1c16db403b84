/** Shared helpers for the keyword filter tests. */
import type { FilterContext, PipelineMessage, Verdict } from '../../../filters/pipeline.ts';
import { createKeywordFilter, type KeywordFilter, type KeywordFilterOptions } from '../../../filters/keyword/keyword-filter.ts';
import type { TermInput } from '../../../filters/keyword/terms.ts';

export const ctx: FilterContext = { deadlineMs: 5, signal: new AbortController().signal };

let seq = 0;
/** A text message; each call is a new message id and, unless given, a new user (no split). */
export function text(t: string, o: Partial<PipelineMessage> = {}): PipelineMessage {
  seq++;
  return { kind: 'text', id: `m${seq}`, room: 'room1', userId: `user${seq}`, text: t, ...o };
}

export function check(kw: KeywordFilter, t: string, o: Partial<PipelineMessage> = {}): Verdict {
  const v = kw.filter.check(text(t, o), ctx);
  if (v instanceof Promise) throw new Error('keyword filter must be synchronous');
  return v;
}

/** A filter with in-process builds (fast, deterministic) and the given global terms, ready. */
export async function filterWith(global: TermInput[], opts: KeywordFilterOptions = {}): Promise<KeywordFilter> {
  const kw = createKeywordFilter({ buildInWorker: false, builtin: false, splitWindowMs: 0, ...opts });
  if (global.length) kw.lists.add('global', global);
  await kw.ready();
  return kw;
}

/** Term ids in a verdict's findings. */
export const evidenceOf = (v: Verdict) => (v.findings ?? []).flatMap((f) => f.evidence ?? []);
