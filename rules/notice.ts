/**
 * The last step to the wire: a Decision's notice plus what only the caller knows — the case id
 * (from the sanction store) — becomes the PROTOCOL.md notice. Pure, like decide().
 */
import type { Decision, PolicyNotice } from './types.ts';

/**
 * `{ caseId, action, category, reason, policy, until?, strikes?, appealable, appealUrl? }`:
 * `until` is `at + durationSec` as an ISO time (absent when permanent), `{caseId}` in the appeal
 * URL is filled (URL-encoded). `at` is the violation's time, the one decide() was given.
 */
export function toNotice(decision: Decision, caseId: string, at: number): PolicyNotice {
  const n = decision.notice;
  const out: PolicyNotice = {
    caseId,
    action: n.action,
    category: n.category,
    reason: n.reason,
    policy: n.policy,
    appealable: n.appealable,
  };
  if (n.durationSec !== undefined) out.until = new Date(at + n.durationSec * 1000).toISOString();
  if (n.strikes !== undefined) out.strikes = n.strikes;
  if (n.appealUrl !== undefined) out.appealUrl = n.appealUrl.replaceAll('{caseId}', encodeURIComponent(caseId));
  return out;
}
