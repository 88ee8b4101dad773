import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { AdminActor, AdminDeps, AdminEnv } from '../../admin/context.js';
import { answerError } from '../../admin/errors.js';
import { HttpProblem } from '../../admin/http.js';
import { registerInvitationRoutes } from '../../admin/invitation-routes.js';
import { registerOrgRoutes } from '../../admin/org-routes.js';
import { registerOrgTokenRoutes } from '../../admin/org-token-routes.js';
import { registerUserRoutes } from '../../admin/user-routes.js';
import { PROBLEM_TYPE_BASE } from '../../gateway/problem.js';
import type { Logger } from '../../observability/logger.js';
import { registerUserTokenRoutes } from '../user-token-routes.js';

/** Who each in-process call acts as, by request: set only by `call`, never from a header. */
const actors = new WeakMap<Request, AdminActor>();

/**
 * The pages change nothing themselves: every change goes through the admin API's own
 * handlers (issuance, approval and its four-eyes rule, revocation, policy and its
 * lock-out check, members and invitations), called in-process as the signed-in person,
 * so the console and the API apply one set of rules and write one audit trail. The
 * page has already authorised the person for the org before it calls.
 */
export class InternalApi {
  readonly #app = new Hono<AdminEnv>();

  constructor(deps: AdminDeps, logger: Logger) {
    const app = this.#app;
    app.onError((error, c) => answerError(c, error, logger, 'console'));
    app.use('*', async function actAsCaller(c, next) {
      const actor = actors.get(c.req.raw);
      if (actor === undefined) throw new Error('internal console call without an actor');
      c.set('actor', actor);
      await next();
    });
    registerUserTokenRoutes(app, deps);
    registerUserRoutes(app, deps);
    registerOrgRoutes(app, deps);
    registerOrgTokenRoutes(app, deps);
    registerInvitationRoutes(app, deps);
  }

  /** The handler's JSON answer, or its refusal thrown as the `HttpProblem` it answered with. */
  async call<T = Record<string, unknown>>(
    actor: AdminActor,
    method: string,
    path: string,
    body?: unknown,
  ): Promise<T> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const request = new Request(`http://console.internal${path}`, {
      method,
      headers:
        text === undefined
          ? {}
          : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) },
      ...(text === undefined ? {} : { body: text }),
    });
    actors.set(request, actor);
    const response = await this.#app.fetch(request);
    const answer = response.status === 204 ? {} : ((await response.json()) as Record<string, unknown>);
    if (response.ok) return answer as T;
    const type = typeof answer.type === 'string' ? answer.type : '';
    throw new HttpProblem(
      response.status as ContentfulStatusCode,
      type.startsWith(PROBLEM_TYPE_BASE) ? type.slice(PROBLEM_TYPE_BASE.length) : 'error',
      typeof answer.title === 'string' ? answer.title : 'Refused',
      typeof answer.detail === 'string' ? answer.detail : 'the request was refused',
    );
  }
}
