import type { Level } from '../../src/config/permission.js';
import type { RouteConfig } from '../../src/config/schema.js';
import type { CompileRoutesInput } from '../../src/routes/compile.js';

export interface SyntheticRequest {
  readonly method: string;
  readonly path: string;
}

export interface SyntheticRouteTable extends CompileRoutesInput {
  /** One request per route, which that route answers, then a few no route answers. */
  readonly requests: readonly SyntheticRequest[];
}

// Shapes modelled on GitHub's API: repository and organization prefixes, literals
// next to parameters at the same depth, catch-alls, and several methods per path.
const SHAPES: readonly { route: (i: number) => string; request: (i: number) => string }[] = [
  { route: (i) => `GET /repos/{owner}/{repo}/area${i}`, request: (i) => `/repos/acme/api/area${i}` },
  { route: (i) => `POST /repos/{owner}/{repo}/area${i}`, request: (i) => `/repos/acme/api/area${i}` },
  {
    route: (i) => `GET /repos/{owner}/{repo}/area${i}/{id}`,
    request: (i) => `/repos/acme/api/area${i}/42`,
  },
  {
    route: (i) => `PATCH /repos/{owner}/{repo}/area${i}/{id}`,
    request: (i) => `/repos/acme/api/area${i}/42`,
  },
  {
    route: (i) => `GET /repos/{owner}/{repo}/area${i}/{id}/items/{item_id}`,
    request: (i) => `/repos/acme/api/area${i}/42/items/7`,
  },
  {
    route: (i) => `GET /repos/{owner}/{repo}/area${i}/files/{path+}`,
    request: (i) => `/repos/acme/api/area${i}/files/src/lib/a.ts`,
  },
  { route: (i) => `GET /orgs/{org}/area${i}`, request: (i) => `/orgs/acme/area${i}` },
  { route: (i) => `DELETE /orgs/{org}/area${i}/{name}`, request: (i) => `/orgs/acme/area${i}/x` },
  { route: (i) => `PUT /user/area${i}/{id}`, request: (i) => `/user/area${i}/9` },
  { route: (i) => `* /admin/area${i}/{rest+}`, request: (i) => `/admin/area${i}/a/b` },
];

/**
 * A route table of exactly `count` routes and its requests, for the matcher's scale
 * test: compile it with `compileRoutes`, then match each of `requests`.
 * (`bench/micro.mjs` builds its own GitHub-like maps with `bench/lib/routes.mjs`.)
 */
export function syntheticRouteTable(count: number): SyntheticRouteTable {
  const routes: RouteConfig[] = [];
  const requests: SyntheticRequest[] = [];
  for (let n = 0; n < count; n++) {
    const shape = SHAPES[n % SHAPES.length];
    if (shape === undefined) break;
    const area = Math.floor(n / SHAPES.length);
    const pattern = shape.route(area);
    const method = pattern.slice(0, pattern.indexOf(' '));
    routes.push({ route: pattern, permission: method === 'GET' ? 'contents:read' : 'contents:write' });
    requests.push({ method: method === '*' ? 'DELETE' : method, path: shape.request(area) });
  }
  requests.push(
    { method: 'GET', path: '/repos/acme/api/nowhere' },
    { method: 'GET', path: '/nowhere/at/all' },
    { method: 'POST', path: '/orgs/acme/area0' },
  );
  const features: Record<string, readonly Level[]> = { contents: ['read', 'write'] };
  return { routes, features, implicit: [], defaultMaxBodyBytes: 1024, requests };
}
