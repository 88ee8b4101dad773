// Synthetic, GitHub-shaped route maps: 20 hand-written routes, padded to any size with
// resources that hang off the same prefixes (/repos/{owner}/{repo}/..., /orgs/{org}/...),
// so a bigger map means wider trie nodes on the request's own path, not a shortcut elsewhere.

export const FEATURES = {
  metadata: ['read'],
  contents: ['read', 'write'],
  issues: ['read', 'write'],
  pull_requests: ['read', 'write'],
  members: ['read', 'write'],
  administration: ['read', 'write'],
  actions: ['read', 'write'],
};

export const BASE_ROUTES = [
  { route: 'GET /repos/{owner}/{repo}', permission: 'metadata:read' },
  { route: 'GET /repos/{owner}/{repo}/contents/{path+}', permission: 'contents:read' },
  { route: 'PUT /repos/{owner}/{repo}/contents/{path+}', permission: 'contents:write' },
  { route: 'GET /repos/{owner}/{repo}/issues', permission: 'issues:read' },
  { route: 'POST /repos/{owner}/{repo}/issues', permission: 'issues:write' },
  { route: 'GET /repos/{owner}/{repo}/issues/{number}', permission: 'issues:read' },
  { route: 'PATCH /repos/{owner}/{repo}/issues/{number}', permission: 'issues:write' },
  { route: 'GET /repos/{owner}/{repo}/issues/{number}/comments', permission: 'issues:read' },
  { route: 'POST /repos/{owner}/{repo}/issues/{number}/comments', permission: 'issues:write' },
  {
    route: 'GET /repos/{owner}/{repo}/issues/{number}/timeline',
    any_of: [
      ['pull_requests:read', 'contents:read'],
      ['issues:read', 'contents:read'],
    ],
  },
  { route: 'GET /repos/{owner}/{repo}/pulls', permission: 'pull_requests:read' },
  { route: 'GET /repos/{owner}/{repo}/pulls/{number}', permission: 'pull_requests:read' },
  {
    route: 'POST /repos/{owner}/{repo}/pulls/{number}/merge',
    permission: ['pull_requests:write', 'contents:write'],
  },
  { route: 'GET /repos/{owner}/{repo}/branches', permission: 'contents:read' },
  { route: 'GET /repos/{owner}/{repo}/commits/{sha}', permission: 'contents:read' },
  { route: 'GET /orgs/{org}/members', permission: 'members:read' },
  { route: 'PUT /orgs/{org}/memberships/{username}', permission: 'members:write' },
  { route: 'GET /orgs/{org}/repos', permission: 'metadata:read' },
  { route: 'GET /user/repos', permission: 'metadata:read' },
  { route: 'GET /status', public: true },
];

const WORDS = [
  'hooks',
  'deployments',
  'environments',
  'secrets',
  'variables',
  'runners',
  'artifacts',
  'caches',
  'releases',
  'tags',
  'labels',
  'milestones',
  'projects',
  'pages',
  'keys',
  'invitations',
  'collaborators',
  'topics',
  'traffic',
  'stats',
  'rulesets',
  'codespaces',
  'dependabot',
  'forks',
];
const SYNTH_FEATURES = ['contents', 'issues', 'pull_requests', 'administration', 'actions'];

/** Ten routes per synthetic resource `name`. */
function resourceRoutes(name, feature) {
  const r = `${feature}:read`;
  const w = `${feature}:write`;
  return [
    { route: `GET /repos/{owner}/{repo}/${name}`, permission: r },
    { route: `POST /repos/{owner}/{repo}/${name}`, permission: w },
    { route: `GET /repos/{owner}/{repo}/${name}/{id}`, permission: r },
    { route: `PATCH /repos/{owner}/{repo}/${name}/{id}`, permission: w },
    { route: `DELETE /repos/{owner}/{repo}/${name}/{id}`, permission: w },
    { route: `GET /repos/{owner}/{repo}/${name}/{id}/items`, permission: r },
    { route: `POST /repos/{owner}/{repo}/${name}/{id}/items/{item}/dispatch`, permission: w },
    { route: `GET /repos/{owner}/{repo}/${name}/{id}/files/{path+}`, permission: r },
    { route: `GET /orgs/{org}/${name}`, permission: r },
    { route: `PUT /orgs/{org}/${name}/{id}`, permission: w },
  ];
}

/** The 20 base routes, padded with synthetic resources up to exactly `count` routes. */
export function routeMap(count) {
  const routes = BASE_ROUTES.slice(0, Math.min(count, BASE_ROUTES.length));
  for (let k = 0; routes.length < count; k++) {
    const name = `${WORDS[k % WORDS.length]}-${Math.floor(k / WORDS.length)}`;
    for (const route of resourceRoutes(name, SYNTH_FEATURES[k % SYNTH_FEATURES.length])) {
      if (routes.length < count) routes.push(route);
    }
  }
  return routes;
}

/** A request path that the rule `route` (a `METHOD /pattern` string) matches. */
export function samplePath(route) {
  const [method, pattern] = route.split(' ');
  const path = pattern
    .replace('{owner}', 'acme')
    .replace('{org}', 'acme')
    .replace('{repo}', 'api')
    .replace('{path+}', 'src/lib/index.ts')
    .replace(/\{[a-z_]+\}/g, '42');
  return { method, path };
}

/** A patgate config object (written as JSON, which is YAML). */
export function patgateConfig({ listen, adminListen, upstreamUrl, redisUrl, routes, maxEntries, prefix }) {
  return {
    listen,
    upstream: { url: upstreamUrl, timeout_ms: 30_000, connect_timeout_ms: 5_000, connections: 128 },
    store: { redis_url: redisUrl, key_prefix: prefix, command_timeout_ms: 500 },
    cache: { max_entries: maxEntries, ttl_ms: 10_000, negative_ttl_ms: 1_000 },
    admin: { listen: adminListen },
    shutdown_grace_ms: 2_000,
    features: FEATURES,
    routes,
    implicit: ['metadata:read'],
    unmatched: 'deny',
    hide_forbidden: true,
  };
}
