import { AuditEntry, auditSubject } from '@jousting/contracts';
import type { JetStreamClient } from '@nats-io/jetstream';
import { newId } from './ids.js';

export type AuditRecord = Omit<AuditEntry, 'id' | 'time'>;

/** Writes audit entries to the AUDIT stream on `audit.<domain>.<action>`. */
export class AuditWriter {
  constructor(private readonly js: JetStreamClient) {}

  async record(record: AuditRecord): Promise<AuditEntry> {
    const entry = AuditEntry.parse({ id: newId(), time: new Date().toISOString(), ...record });
    await this.js.publish(auditSubject(entry.domain, entry.action), JSON.stringify(entry), {
      msgID: entry.id,
    });
    return entry;
  }
}
