import { z } from 'zod';
import { AUTH_ERRORS, type HttpRoute } from './http-route.js';
import {
  DeletedSecret,
  RevealedSecret,
  SecretDescription,
  SecretMeta,
  SecretName,
  SecretValue,
} from './secrets.js';

export const SecretNameParams = z.object({ name: SecretName });
export const PutSecretBody = z
  .object({
    value: SecretValue,
    description: SecretDescription.optional().describe('Omitted: the current description is kept'),
  })
  .strict();

/** The secrets vault (services/settings). */
export const SECRET_ROUTES = [
  {
    id: 'listSecrets',
    method: 'get',
    path: '/api/secrets',
    summary: 'List secrets: names and metadata, never the values',
    tag: 'secrets',
    role: 'operator',
    response: z.object({ items: z.array(SecretMeta) }),
    errors: [503, ...AUTH_ERRORS],
  },
  {
    id: 'putSecret',
    method: 'put',
    path: '/api/secrets/{name}',
    summary: 'Create or replace a secret (stored encrypted); answers with its metadata only',
    tag: 'secrets',
    role: 'admin',
    params: SecretNameParams,
    body: PutSecretBody,
    response: SecretMeta,
    errors: [400, 503, ...AUTH_ERRORS],
  },
  {
    id: 'revealSecret',
    method: 'post',
    path: '/api/secrets/{name}/reveal',
    summary: 'The decrypted value of a secret; every reveal is audited',
    tag: 'secrets',
    role: 'admin',
    params: SecretNameParams,
    response: RevealedSecret,
    errors: [400, 404, 500, 503, ...AUTH_ERRORS],
  },
  {
    id: 'deleteSecret',
    method: 'delete',
    path: '/api/secrets/{name}',
    summary: 'Delete a secret',
    tag: 'secrets',
    role: 'admin',
    params: SecretNameParams,
    response: DeletedSecret,
    errors: [400, 404, 503, ...AUTH_ERRORS],
  },
] as const satisfies readonly HttpRoute[];
