import type { Context } from 'hono';
import { isTokenId } from '../tokens/format.js';
import type { AdminActor, UserActor } from './context.js';
import { HttpProblem, invalid, notFound } from './http.js';
import { loginSchema } from './token-input.js';

/** A login from the path, lower-cased: owner names compare case-insensitively. */
export function loginParam(c: Context, name: 'org' | 'user'): string {
  const result = loginSchema.safeParse(c.req.param(name) ?? '');
  if (!result.success) throw invalid(name, 'expected a login: letters, digits and single hyphens');
  return result.data.toLowerCase();
}

/** A token id from the path; anything that is not one cannot exist, so it is a 404. */
export function tokenIdParam(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!isTokenId(id)) throw notFound(`token ${JSON.stringify(id)}`);
  return id;
}

export function requireSiteAdmin(actor: AdminActor): void {
  if (actor.kind !== 'site_admin') {
    throw new HttpProblem(403, 'forbidden', 'Forbidden', 'this call needs the site admin credential');
  }
}

/** The person a `/v1/user/...` call acts as (`authenticate` sets no other actor there). */
export function requireUser(actor: AdminActor): UserActor {
  if (actor.kind !== 'user') {
    throw new HttpProblem(403, 'forbidden', 'Forbidden', 'this call acts as the user of a token');
  }
  return actor;
}
