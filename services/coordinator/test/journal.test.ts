import { createLogger } from '@jousting/bus';
import { describe, expect, it } from 'vitest';
import { type CommittedPart, GroupAssembler, type JournalPart, JournalWriter } from '../src/journal.js';
import type { Op } from '../src/ops.js';

const logger = createLogger('journal-test', { level: 'silent' });
const op = (id: string, pad = 0): Op => ({ o: 'why', at: 1, id, s: 'pending', reason: 'x'.repeat(pad) });

/** An in-memory journal stream with the same rules: expected last sequence and dedup by id. */
function memoryJournal() {
  const messages: Array<{ seq: number; body: string; msgId: string }> = [];
  let failNext = 0;
  let slow = false;
  return {
    messages,
    failTimes: (n: number) => {
      failNext = n;
    },
    setSlow: (s: boolean) => {
      slow = s;
    },
    transport: {
      publish: async (body: string, msgId: string, expectLastSeq: number) => {
        if (slow) await new Promise((r) => setTimeout(r, 20));
        const dup = messages.find((m) => m.msgId === msgId);
        if (dup) return dup.seq;
        if (failNext > 0) {
          failNext--;
          throw new Error('timeout');
        }
        const last = messages.length ? messages[messages.length - 1]!.seq : 0;
        if (last !== expectLastSeq) throw new Error('wrong last sequence: 5');
        messages.push({ seq: last + 1, body, msgId });
        return last + 1;
      },
    },
  };
}

function writer(
  journal: ReturnType<typeof memoryJournal>,
  extra: Partial<ConstructorParameters<typeof JournalWriter>[0]> = {},
) {
  const committed: CommittedPart[][] = [];
  const fatal: Error[] = [];
  const w = new JournalWriter({
    transport: journal.transport,
    lastSeq: 0,
    writerId: 'test',
    logger,
    onCommitted: (parts) => committed.push(parts),
    onFatal: (err) => fatal.push(err),
    ...extra,
  });
  return { w, committed, fatal };
}

describe('journal group commit', () => {
  it('stores the ops of every command handled in one tick as one message, in order', async () => {
    const journal = memoryJournal();
    const { w, committed } = writer(journal);
    const replies = [w.append([op('a')]), w.append([op('b'), op('c')]), w.append([op('d')])];
    await Promise.all(replies);
    expect(journal.messages).toHaveLength(1);
    const part = JSON.parse(journal.messages[0]!.body) as JournalPart;
    expect(part.ops.map((o) => ('id' in o ? o.id : ''))).toEqual(['a', 'b', 'c', 'd']);
    expect(committed).toHaveLength(1);
  });

  it('keeps one flush in flight and gathers what arrives meanwhile into the next', async () => {
    const journal = memoryJournal();
    journal.setSlow(true);
    const { w } = writer(journal);
    const first = w.append([op('a')]);
    await new Promise((r) => setTimeout(r, 5)); // the first flush is now in flight
    const later = [w.append([op('b')]), w.append([op('c')]), w.append([op('d')])];
    await Promise.all([first, ...later]);
    expect(journal.messages.map((m) => (JSON.parse(m.body) as JournalPart).ops.length)).toEqual([1, 3]);
  });

  it('answers a barrier only after everything appended before it is stored', async () => {
    const journal = memoryJournal();
    journal.setSlow(true);
    const { w } = writer(journal);
    void w.append([op('a')]);
    let stored = false;
    await w.barrier().then(() => {
      stored = journal.messages.length === 1;
    });
    expect(stored).toBe(true);
  });

  it('splits a large batch into parts of one group and reassembles them on replay', async () => {
    const journal = memoryJournal();
    const { w } = writer(journal, { maxPartBytes: 1000 });
    await Promise.all([w.append([op('a', 600)]), w.append([op('b', 600)]), w.append([op('c', 10)])]);
    expect(journal.messages).toHaveLength(2);
    const assembler = new GroupAssembler();
    const parts = journal.messages.map((m) => assembler.push(m.seq, JSON.parse(m.body) as JournalPart));
    expect(parts[0]).toBeUndefined();
    expect(parts[1]!.flatMap((p) => p.ops).map((o) => ('id' in o ? o.id : ''))).toEqual(['a', 'b', 'c']);
  });

  it('skips a group cut short by a crash during its flush', () => {
    const assembler = new GroupAssembler();
    expect(assembler.push(1, { g: 'x.1', p: 0, n: 2, ops: [op('lost')] })).toBeUndefined();
    const next = assembler.push(2, { g: 'y.1', p: 0, n: 1, ops: [op('kept')] });
    expect(next?.[0]?.ops).toEqual([op('kept')]);
    expect(assembler.dropped).toBe(1);
  });

  it('retries a failed write with the same message id, so a lost ack stores nothing twice', async () => {
    const journal = memoryJournal();
    journal.failTimes(2);
    const { w } = writer(journal);
    await w.append([op('a')]);
    expect(journal.messages).toHaveLength(1);
    expect(w.lastSeq).toBe(1);
  });

  it('stops for good when another process wrote to the journal', async () => {
    const journal = memoryJournal();
    journal.messages.push({ seq: 1, body: '{}', msgId: 'other' });
    const { w, fatal } = writer(journal);
    await expect(w.append([op('a')])).rejects.toMatchObject({ code: 'unavailable' });
    expect(fatal[0]?.message).toContain('another process wrote to the journal');
    await expect(w.append([op('b')])).rejects.toMatchObject({ code: 'unavailable' });
  });

  it('gives up after the retry time and reports the failure as fatal', async () => {
    const journal = memoryJournal();
    journal.failTimes(1000);
    const { w, fatal } = writer(journal, { giveUpAfterMs: 100 });
    await expect(w.append([op('a')])).rejects.toMatchObject({ code: 'unavailable' });
    expect(fatal).toHaveLength(1);
  });

  it('seals a batch so later appends go to the next message', async () => {
    const journal = memoryJournal();
    const { w } = writer(journal);
    void w.append([op('a')]);
    const sealed = w.seal();
    const after = w.append([op('b')]);
    expect(await sealed).toBe(1);
    expect(await after).toBe(2);
  });
});
