import { z } from 'zod';

export const Role = z.enum(['viewer', 'operator', 'admin']);
export type Role = z.infer<typeof Role>;
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
export const roleAllows = (have: Role, need: Role) => RANK[have] >= RANK[need];

/** API tokens are `jst_` followed by 64 lowercase hex characters; only their hashes are stored. */
export const API_TOKEN_RE = /^jst_[0-9a-f]{64}$/;
export const ApiToken = z.string().regex(API_TOKEN_RE, 'must be "jst_" followed by 64 hex characters');

export const TokenInfo = z
  .object({
    id: z.string().describe('First 12 hex characters of the token hash'),
    name: z.string(),
    role: Role,
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'TokenInfo' });
export type TokenInfo = z.infer<typeof TokenInfo>;

export const TokenName = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-", at most 64');
