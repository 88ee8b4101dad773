import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { HttpProblem } from '../../admin/http.js';
import { Layout, Notice } from './layout.js';

/** A refusal on a page, as a page: the same status and words as the API's problem. */
export function errorPage(c: Context, problem: HttpProblem): Response | Promise<Response> {
  c.header('cache-control', 'no-store');
  return c.html(
    <Layout title={problem.title} viewer={null}>
      <Notice error>{problem.detail}</Notice>
      <p>
        <a href="/console/tokens">Back to your tokens</a>
      </p>
    </Layout>,
    problem.status as ContentfulStatusCode,
  );
}

/** The page after signing out: nobody is signed in, so it offers signing in again. */
export function signedOutPage(c: Context): Response | Promise<Response> {
  return c.html(
    <Layout title="Signed out" viewer={null}>
      <p>You are signed out of the patgate console.</p>
      <p>
        <a href="/console/login?return_to=/console/tokens">Sign in again</a>
      </p>
    </Layout>,
  );
}
