/**
 * Recording a violation: the policy decides (pure `decide()` on the user's history, committed
 * atomically by the sanction store), the resulting sanctions are enforced on every node, the user
 * gets the notice, and the decision is audited. One path for moderators (`violation:record`) and for
 * automated detection (filters that block a message).
 */
import { randomUUID } from 'node:crypto';
import type { AuditLog } from './audit.ts';
import type { Notice } from './protocol.ts';
import type { Sanction, SanctionStore } from './sanction-store.ts';
import type { Policy } from '../rules/policy.ts';
import { decide } from '../rules/decide.ts';
import { toNotice } from '../rules/notice.ts';
import type { Decision, Violation } from '../rules/types.ts';

export interface ViolationActor {
  type: 'user' | 'automation';
  id: string;
  roles?: string[];
  detector?: string;
  score?: number;
}

export interface RecordedViolation {
  caseId: string;
  decision: Decision;
  notice: Notice;
  sanctions: Sanction[];
}

export interface ViolationDeps {
  store: SanctionStore;
  audit: Pick<AuditLog, 'append' | 'query'>;
  policy: () => Policy;
  /** Send a notice to the user's live connections on every node (no sanction carries it). */
  deliverNotice: (userId: string, notice: Notice) => void;
}

/** Turn a policy decision into sanctions (ids derived from the case, so retries are idempotent). */
export function sanctionsOf(dec: Decision, v: Violation, caseId: string, actor: Sanction['actor'], reason: string, notice: Notice): Sanction[] {
  return dec.actions.map((a, i) => ({
    ...(i === 0 && dec.notify ? { notice } : {}),
    id: `${caseId}:${i}`,
    userId: v.userId,
    kind: a.kind,
    ...(a.scope === 'room' && v.room ? { room: v.room } : {}),
    ...(a.features ? { features: a.features } : {}),
    actor,
    reason,
    category: dec.category,
    policy: dec.rule,
    policyVersion: dec.policyVersion,
    caseId,
    start: v.at,
    ...(a.durationSec !== undefined ? { until: v.at + a.durationSec * 1000 } : {}),
    appealable: dec.notice.appealable,
  }));
}

/**
 * Record `violation` (its category must be known to the policy: check with `isKnownCategory`).
 * Throws StoreUnavailableError when the shared history cannot be reached.
 */
export async function recordViolation(d: ViolationDeps, violation: Violation, actor: ViolationActor, reason: string): Promise<RecordedViolation> {
  const policy = d.policy();
  const caseId = `case_${randomUUID()}`;
  const { at, userId } = violation;
  const sanctionActor: Sanction['actor'] = { type: actor.type, id: actor.id, ...(actor.detector ? { detector: actor.detector } : {}), ...(actor.score !== undefined ? { score: actor.score } : {}) };
  const recorded = await d.store.recordViolation(userId, (history) => {
    const decision = decide(policy, violation, history);
    const notice: Notice = toNotice(decision, caseId, at);
    const sanctions = sanctionsOf(decision, violation, caseId, sanctionActor, reason, notice);
    return {
      result: { caseId, decision, notice, sanctions },
      commit: {
        userId,
        strike: decision.strike,
        minor: decision.records.minorViolation ? { id: `${userId}:${decision.category}:${at}`, category: decision.category, at } : null,
        major: decision.records.majorViolation,
        livestream: decision.records.livestreamViolation,
        sanctions,
      },
    };
  });
  const { decision, notice, sanctions } = recorded;
  // The first sanction carries the notice to every node (and into the pending list, atomically);
  // a decision without one (a support notice) is stored as pending and sent to live connections.
  if (decision.notify && !sanctions.length) {
    await d.store.pushNotice(userId, caseId, notice);
    d.deliverNotice(userId, notice);
  }
  const automated = actor.type === 'automation';
  d.audit.append({
    kind: 'decision',
    action: decision.notice.action,
    category: decision.category,
    actor,
    subject: { userId, ...(violation.room ? { room: violation.room } : {}), ...(violation.messageId ? { messageId: violation.messageId } : {}) },
    caseId,
    ...(sanctions[0] ? { sanctionId: sanctions[0].id } : {}),
    policy: decision.rule,
    policyVersion: decision.policyVersion,
    restriction: decision.actions.map((a) => a.kind).join('+') || 'none',
    ...(decision.notice.durationSec !== undefined ? { durationSec: decision.notice.durationSec } : {}),
    facts: reason,
    automatedDetection: automated,
    automatedDecision: automated,
    ground: decision.category,
    redress: decision.notice.appealable ? 'appeal' : 'not appealable',
    ...(violation.messageId || violation.evidence || actor.score !== undefined
      ? {
          evidence: {
            ...(violation.messageId ? { messageId: violation.messageId } : {}),
            ...(violation.evidence ? { ids: violation.evidence } : {}),
            ...(actor.score !== undefined && actor.detector ? { scores: { [actor.detector]: actor.score } } : {}),
          },
        }
      : {}),
  });
  return recorded;
}
