import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { API_TOKEN_RE } from '@jousting/contracts';
import { startNats } from '@jousting/testing';
import { describe, expect, it } from 'vitest';
import { client, startGateway } from './harness.js';

// Each test has its own NATS server: "no token exists yet" needs an empty gateway-tokens bucket.
describe('admin token bootstrap', () => {
  it('creates an admin token in $JOUSTING_DATA_DIR/admin-token (mode 0600) when none exists and none is given', async () => {
    const nats = await startNats();
    try {
      const gw = await startGateway(nats.url, { JOUSTING_ADMIN_TOKEN: '' });
      const file = join(gw.dataDir, 'admin-token');
      try {
        expect(statSync(file).mode & 0o777).toBe(0o600);
        const token = readFileSync(file, 'utf8').trim();
        expect(token).toMatch(API_TOKEN_RE);
        const me = await client(gw.url, token)('GET', '/api/auth/me');
        expect(me.json).toEqual({ name: 'admin', role: 'admin', via: 'bearer' });
      } finally {
        await gw.stop();
      }

      // A second start finds a token in the bucket and leaves the file alone.
      const again = await startGateway(nats.url, {
        JOUSTING_ADMIN_TOKEN: '',
        JOUSTING_DATA_DIR: join(gw.dataDir, 'other'),
      });
      await again.stop();
      expect(() => statSync(join(gw.dataDir, 'other', 'admin-token'))).toThrow(/ENOENT/);
    } finally {
      await nats.stop();
    }
  });

  it('registers JOUSTING_ADMIN_TOKEN as admin and writes no file', async () => {
    const nats = await startNats();
    try {
      const gw = await startGateway(nats.url);
      try {
        expect(() => statSync(join(gw.dataDir, 'admin-token'))).toThrow(/ENOENT/);
        const me = await client(gw.url, gw.adminToken)('GET', '/api/auth/me');
        expect(me.json).toEqual({ name: 'admin', role: 'admin', via: 'bearer' });
      } finally {
        await gw.stop();
      }
    } finally {
      await nats.stop();
    }
  });
});
