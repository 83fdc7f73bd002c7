import type { Replicas } from '@jousting/contracts';
import { z } from 'zod';
import { decodeJson, encodeJson, isWrongRevision, type KV, type KvEntry } from './kv.js';
import type { Logger } from './logger.js';

/** What the lease key holds (and each standby's `standby.<instance>` key). */
const LeaseHolder = z.object({ holder: z.string().min(1), since: z.string() });
type LeaseHolder = z.infer<typeof LeaseHolder>;

/** The value a holder or standby writes: who, and since when. */
const leaseValue = (holder: string, since: number) =>
  encodeJson({ holder, since: new Date(since).toISOString() } satisfies LeaseHolder);

/** The holder an entry names; undefined for a deleted, purged or unreadable entry. */
const holderOf = (entry: KvEntry | null): LeaseHolder | undefined =>
  LeaseHolder.safeParse(decodeJson(entry)).data;

const STANDBY_PREFIX = 'standby.';

export interface LeaderLeaseOptions {
  kv: KV;
  key?: string;
  /** This instance (unique per process). */
  holder: string;
  /** A lease not renewed for this long may be taken over. Renewed every third of it. */
  leaseMs: number;
  logger: Logger;
  /**
   * Called once when the lease is lost while held: another instance took it (the renewal's CAS
   * failed). The holder must stop writing at once. Renewals that fail otherwise (NATS
   * unreachable) are retried: the lease is lost only if a standby took it meanwhile.
   */
  onLost: (reason: string) => void;
  now?: () => number;
}

/**
 * One writer among replicas: a key in KV that one instance holds and renews by compare-and-set.
 * A standby takes the key over once it has gone a whole lease without a renewal: by the server
 * time of its last write, or, whatever the clocks say, after the standby itself has watched it
 * unchanged for a lease. A stolen lease is noticed at the next renewal (its CAS fails), and the
 * journal's expected-last-sequence refuses a second writer in between.
 */
export class LeaderLease {
  private revision = 0;
  private timer: NodeJS.Timeout | undefined;
  private failingSince: number | undefined;
  /** Standby keys as the watch last saw them, with the server time of their last refresh. */
  private readonly standbyKeys = new Map<string, { holder: LeaseHolder; at: number; revision: number }>();
  private standbyWatch: { stop(): void } | undefined;
  private lost = false;
  private released = false;
  private readonly key: string;
  private readonly now: () => number;

  private constructor(
    private readonly opts: LeaderLeaseOptions,
    revision: number,
  ) {
    this.key = opts.key ?? 'leader';
    this.now = opts.now ?? Date.now;
    this.revision = revision;
    this.schedule();
    void this.watchStandbys();
  }

  /** Resolves once this instance holds the lease; waits (standing by) while another does. */
  static async acquire(opts: LeaderLeaseOptions, signal?: AbortSignal): Promise<LeaderLease> {
    const key = opts.key ?? 'leader';
    const now = opts.now ?? Date.now;
    const standbyKey = `${STANDBY_PREFIX}${opts.holder}`;
    const standingSince = now();
    const lead = async (revision: number) => {
      await opts.kv.delete(standbyKey).catch(() => undefined);
      return new LeaderLease(opts, revision);
    };
    let watched: { revision: number; since: number } | undefined;
    let announced = '';
    try {
      for (;;) {
        signal?.throwIfAborted();
        const entry = await opts.kv.get(key);
        const mine = leaseValue(opts.holder, now());
        try {
          if (entry === null) return await lead(await opts.kv.create(key, mine));
          const current = holderOf(entry);
          if (!current) {
            // Released on a clean stop (or unreadable): free to take.
            return await lead(await opts.kv.update(key, mine, entry.revision));
          }
          if (watched?.revision !== entry.revision) watched = { revision: entry.revision, since: now() };
          if (expired(entry, watched.since, opts.leaseMs, now())) {
            const revision = await opts.kv.update(key, mine, entry.revision);
            opts.logger.warn(
              { previous: current.holder },
              'took over the leader lease: its holder stopped renewing',
            );
            return await lead(revision);
          }
          // The leader lists standbys by these keys (GET /api/coord); refreshed on every look.
          await opts.kv.put(standbyKey, leaseValue(opts.holder, standingSince));
          if (announced !== current.holder) {
            announced = current.holder;
            opts.logger.info(
              { holder: current.holder },
              'standing by: another instance holds the leader lease',
            );
          }
        } catch (err) {
          // Someone else wrote first: look again.
          if (!isWrongRevision(err)) throw err;
        }
        await sleep(Math.max(20, Math.round(opts.leaseMs / 4)), signal);
      }
    } catch (err) {
      await opts.kv.delete(standbyKey).catch(() => undefined);
      throw err;
    }
  }

  /** This instance as the leader, and the standbys that refreshed their key within three leases. */
  get replicas(): Replicas {
    const fresh = [...this.standbyKeys.values()].filter((k) => this.now() - k.at <= 3 * this.opts.leaseMs);
    return {
      leader: this.opts.holder,
      standbys: fresh
        .map((k) => ({ instance: k.holder.holder, since: k.holder.since }))
        .sort((a, b) => a.since.localeCompare(b.since)),
    };
  }

  get held(): boolean {
    return !this.lost && !this.released;
  }

  /** Gives the lease up (a clean stop), so a standby takes over at once. */
  async release(): Promise<void> {
    if (this.released || this.lost) return;
    this.released = true;
    clearTimeout(this.timer);
    this.standbyWatch?.stop();
    try {
      await this.opts.kv.delete(this.key, { previousSeq: this.revision });
    } catch (err) {
      this.opts.logger.warn(
        { err },
        'could not release the leader lease; a standby takes it when it runs out',
      );
    }
  }

  private schedule(): void {
    this.timer = setTimeout(() => void this.renew(), Math.max(10, Math.round(this.opts.leaseMs / 3)));
    this.timer.unref?.();
  }

  private async renew(): Promise<void> {
    if (!this.held) return;
    try {
      this.revision = await this.opts.kv.update(
        this.key,
        leaseValue(this.opts.holder, this.now()),
        this.revision,
      );
      this.dropStaleStandbys();
      if (this.failingSince !== undefined)
        this.opts.logger.info({ failedForMs: this.now() - this.failingSince }, 'leader lease renewed again');
      this.failingSince = undefined;
    } catch (err) {
      if (isWrongRevision(err)) return this.lose('another instance took the leader lease');
      // Past a lease a standby may take over; if it does, the next renewal that gets through
      // fails its CAS, and the journal refuses our writes meanwhile.
      this.failingSince ??= this.now();
      this.opts.logger.warn(
        { err, failingForMs: this.now() - this.failingSince },
        'leader lease renewal failed; retrying',
      );
    }
    if (this.held) this.schedule();
  }

  /** Follows the standby keys with one watch for as long as the lease is held. */
  private async watchStandbys(): Promise<void> {
    try {
      const watch = await this.opts.kv.watch({ key: `${STANDBY_PREFIX}>` });
      if (!this.held) return watch.stop();
      this.standbyWatch = watch;
      for await (const entry of watch) {
        const holder = holderOf(entry);
        if (holder)
          this.standbyKeys.set(entry.key, { holder, at: entry.created.getTime(), revision: entry.revision });
        else this.standbyKeys.delete(entry.key);
      }
    } catch (err) {
      this.opts.logger.warn({ err }, 'could not follow the standbys; the replica list may be stale');
    }
  }

  /** Removes the keys of standbys gone for three leases (killed before they could say so). */
  private dropStaleStandbys(): void {
    for (const [key, k] of this.standbyKeys) {
      if (this.now() - k.at <= 3 * this.opts.leaseMs) continue;
      this.standbyKeys.delete(key);
      void this.opts.kv.delete(key, { previousSeq: k.revision }).catch(() => undefined);
    }
  }

  private lose(reason: string): void {
    if (this.lost || this.released) return;
    this.lost = true;
    clearTimeout(this.timer);
    this.standbyWatch?.stop();
    this.opts.logger.error({ reason }, 'lost the leader lease');
    this.opts.onLost(reason);
  }
}

function expired(entry: KvEntry, watchedSince: number, leaseMs: number, now: number): boolean {
  const writtenAt = entry.created.getTime();
  return now - writtenAt >= leaseMs || now - watchedSince >= leaseMs;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
