import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Tests import workspace libs from source, so `vitest` needs no build; e2e runs the built services.
const alias = [
  { find: /^@jousting\/contracts$/, replacement: src('./libs/contracts/src/index.ts') },
  { find: /^@jousting\/contracts\/subjects$/, replacement: src('./libs/contracts/src/subjects.ts') },
  { find: /^@jousting\/bus$/, replacement: src('./libs/bus/src/index.ts') },
  { find: /^@jousting\/testing$/, replacement: src('./libs/testing/src/index.ts') },
  { find: /^@jousting\/worker-sdk$/, replacement: src('./libs/worker-sdk/src/index.ts') },
];

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'libs/*/test/**/*.test.ts',
            'services/*/test/**/*.test.ts',
            'services/gateway/ui/test/**/*.test.{ts,tsx}',
          ],
          testTimeout: 20_000,
          hookTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 90_000,
          // Each e2e file boots a whole stack; two at a time is what 2 cores carry.
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
