/**
 * The review queue: messages held by filters and reports from users, each with a priority and a
 * due time from its category (POLICY.md: critical 2 h, high 24 h, standard 72 h), shared by every
 * node through the shared configuration (kind `queue`).
 *
 * Reports aggregate per target (a message, or a user): when enough distinct users report the same
 * target within a window, its content is hidden pending review (POLICY.md "Multiple reports against
 * the same user hide their content pending review"). Reporters are rate limited per user; a report
 * that turns out unfounded is never held against a good-faith reporter.
 */
import { randomUUID } from 'node:crypto';
import type { ChatMessage } from './protocol.ts';
import { Lru } from '../filters/spam/lru.ts';
import type { SharedConfig } from './shared-config.ts';

export type QueueItemKind = 'held' | 'message_report' | 'user_report';
export type Priority = 'critical' | 'high' | 'standard';

export interface QueueItem {
  id: string;
  kind: QueueItemKind;
  room?: string;
  /** The user whose content is under review. */
  userId: string;
  messageId?: string;
  /** For held messages: the message, delivered to the room if approved. */
  message?: ChatMessage;
  category: string;
  priority: Priority;
  createdAt: number;
  dueAt: number;
  /** Distinct reporters (report items) and their notes. */
  reporters?: { userId: string; category: string; note?: string; at: number }[];
  /** Hidden pending review (auto-hide after several reports). */
  hidden?: boolean;
  /** The shadow restriction hiding a reported user's content, lifted if the review approves. */
  hiddenSanctionId?: string;
  /** Findings that held it (filter, category, score, evidence ids). */
  findings?: unknown[];
}

const PRIORITY_RANK: Record<Priority, number> = { critical: 0, high: 1, standard: 2 };

/** Distinct reporters of the same target within the window that hide it pending review. */
export const AUTO_HIDE_REPORTERS = 3;
export const AUTO_HIDE_WINDOW_MS = 10 * 60_000;
/** Reports one user may file: 10 per 10 minutes (a flood of reports is refused, not punished). */
export const REPORTS_PER_WINDOW = 10;
export const REPORT_WINDOW_MS = 10 * 60_000;

export class ReviewQueue {
  private readonly reportWindows = new Lru<string, { start: number; n: number }>(100_000);

  constructor(
    private readonly shared: SharedConfig,
    private readonly target: (category: string) => { priority: Priority; targetSec: number },
    private readonly now: () => number = Date.now,
  ) {}

  get(id: string): QueueItem | undefined {
    return this.shared.get('queue', id) as QueueItem | undefined;
  }

  /** Most urgent first: by priority, then due time. */
  list(o: { room?: string | undefined; rooms?: readonly string[] | undefined; limit?: number | undefined } = {}): QueueItem[] {
    const items = [...this.shared.all('queue').values()] as QueueItem[];
    return items
      .filter((i) => (o.room === undefined || i.room === o.room) && (o.rooms === undefined || (i.room !== undefined && o.rooms.includes(i.room))))
      .sort((a, b) => PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority] || a.dueAt - b.dueAt)
      .slice(0, Math.min(o.limit ?? 50, 500));
  }

  async hold(message: ChatMessage, category: string, findings: unknown[]): Promise<QueueItem> {
    const t = this.target(category);
    const now = this.now();
    const item: QueueItem = {
      id: `q_${randomUUID()}`,
      kind: 'held',
      room: message.room,
      userId: message.user.id,
      messageId: message.id,
      message,
      category,
      priority: t.priority,
      createdAt: now,
      dueAt: now + t.targetSec * 1000,
      findings,
    };
    await this.shared.set('queue', item.id, item);
    return item;
  }

  /** May this user file another report now? */
  allowReport(reporter: string): boolean {
    const now = this.now();
    let w = this.reportWindows.get(reporter);
    if (!w || now - w.start >= REPORT_WINDOW_MS) {
      w = { start: now, n: 0 };
      this.reportWindows.set(reporter, w);
    }
    return ++w.n <= REPORTS_PER_WINDOW;
  }

  /**
   * Add a report to the target's item (created on first report). Returns the item and whether this
   * report crossed the auto-hide threshold.
   */
  async report(r: { kind: 'message_report' | 'user_report'; reporter: string; userId: string; room?: string; messageId?: string; category: string; note?: string }): Promise<{ item: QueueItem; hideNow: boolean }> {
    const now = this.now();
    const id = r.kind === 'message_report' ? `msg:${r.room}:${r.messageId}` : `user:${r.userId}`;
    const t = this.target(r.category);
    const prev = this.get(id);
    const reporters = (prev?.reporters ?? []).filter((x) => x.userId !== r.reporter);
    reporters.push({ userId: r.reporter, category: r.category, ...(r.note ? { note: r.note } : {}), at: now });
    // The most urgent category any reporter chose sets the priority.
    const worse = !prev || PRIORITY_RANK[t.priority] < PRIORITY_RANK[prev.priority];
    const recent = reporters.filter((x) => now - x.at <= AUTO_HIDE_WINDOW_MS).length;
    const hideNow = !prev?.hidden && recent >= AUTO_HIDE_REPORTERS;
    const item: QueueItem = {
      id,
      kind: r.kind,
      userId: r.userId,
      ...(r.room ? { room: r.room } : prev?.room ? { room: prev.room } : {}),
      ...(r.messageId ? { messageId: r.messageId } : {}),
      category: worse ? r.category : prev!.category,
      priority: worse ? t.priority : prev!.priority,
      createdAt: prev?.createdAt ?? now,
      dueAt: worse ? now + t.targetSec * 1000 : prev!.dueAt,
      reporters,
      ...(prev?.hidden || hideNow ? { hidden: true } : {}),
      ...(prev?.hiddenSanctionId ? { hiddenSanctionId: prev.hiddenSanctionId } : {}),
    };
    await this.shared.set('queue', id, item);
    return { item, hideNow };
  }

  async update(item: QueueItem): Promise<void> {
    await this.shared.set('queue', item.id, item);
  }

  async remove(id: string): Promise<void> {
    await this.shared.set('queue', id, undefined);
  }
}
