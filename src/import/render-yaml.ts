import type { RouteConfig } from '../config/schema.js';
import type { RouteMapImport } from './build-route-map.js';

export interface RenderOptions {
  /** Comment lines for the top of the file (without `# `), e.g. the command that produced it. */
  readonly header?: readonly string[];
  /**
   * When set, emit a complete config that `patgate serve` accepts (listen, upstream,
   * admin) instead of a fragment holding only features, routes and implicit.
   */
  readonly upstream?: string | undefined;
}

/** A YAML double-quoted scalar: JSON's string syntax is valid YAML 1.2. */
const q = (text: string): string => JSON.stringify(text);
const flowList = (items: readonly string[]): string => `[${items.map(q).join(', ')}]`;
const oneLine = (text: string): string => text.replace(/\s+/g, ' ').trim();

function renderRoute(route: RouteConfig, comment: string): string[] {
  const lines = [`  - route: ${q(route.route)}${comment === '' ? '' : `  # ${oneLine(comment)}`}`];
  if (route.public === true) lines.push('    public: true');
  else if (route.any_of !== undefined) lines.push(`    any_of: [${route.any_of.map(flowList).join(', ')}]`);
  else if (typeof route.permission === 'string') lines.push(`    permission: ${q(route.permission)}`);
  else if (route.permission !== undefined) lines.push(`    permission: ${flowList(route.permission)}`);
  if (route.resource !== undefined) {
    const repo = route.resource.repo === undefined ? '' : `, repo: ${q(route.resource.repo)}`;
    lines.push(`    resource: { owner: ${q(route.resource.owner)}${repo} }`);
  }
  if (route.upstream_checks !== undefined)
    lines.push(`    upstream_checks: ${flowList(route.upstream_checks)}`);
  return lines;
}

/**
 * Renders an import as YAML a reviewer can read: one route per operation in
 * document order, each commented with its operationId and the rule that mapped it,
 * then the unmapped operations as a comment block. Deterministic, so regenerating
 * from the same inputs gives the same file and a diff shows only real changes.
 */
export function renderRouteMap(imported: RouteMapImport, options: RenderOptions = {}): string {
  const out: string[] = [];
  for (const line of options.header ?? []) out.push(`# ${oneLine(line)}`);
  const combined = imported.conflicts.filter((c) => c.resolution !== 'unresolved').length;
  const unresolved = imported.conflicts.length - combined;
  const source =
    imported.sourceSummary ?? `${imported.title} ${imported.version} (OpenAPI ${imported.openapi})`;
  out.push(
    `# ${oneLine(source)}: ${imported.operationCount} operations -> ` +
      `${imported.routes.length} routes, ${imported.unmapped.length} unmapped (denied), ` +
      `${combined} conflict(s) resolved${unresolved > 0 ? `, ${unresolved} unresolved` : ''}.`,
  );
  out.push('');

  if (options.upstream !== undefined) {
    out.push(
      'listen: "127.0.0.1:8080"',
      'upstream:',
      `  url: ${q(options.upstream)}`,
      'admin:',
      '  listen: "127.0.0.1:8081"',
      'unmatched: deny',
      'hide_forbidden: true',
      '',
    );
  }

  out.push('features:');
  const features = Object.entries(imported.features);
  if (features.length === 0) out[out.length - 1] = 'features: {}';
  for (const [name, levels] of features) {
    const title = imported.featureTitles?.[name];
    out.push(`  ${name}: [${levels.join(', ')}]${title === undefined ? '' : `  # ${oneLine(title)}`}`);
  }
  out.push('');

  out.push(imported.routes.length === 0 ? 'routes: []' : 'routes:');
  for (const r of imported.routes) {
    const comment = [`${r.operations[0] ?? ''} [${r.source}]`, ...r.notes].join('; ');
    out.push(...renderRoute(r.route, comment));
  }
  out.push('');
  out.push(`implicit: ${flowList(imported.implicit)}`);

  if (imported.conflicts.length > 0) {
    out.push('', '# Conflicts (operations whose requests cannot be told apart):');
    for (const c of imported.conflicts) out.push(`#   ${c.resolution}: ${oneLine(c.message)}`);
  }
  for (const block of imported.commentBlocks ?? []) {
    out.push('', ...block.heading.map((line) => `# ${oneLine(line)}`));
    for (const line of block.lines) out.push(`#   ${oneLine(line)}`);
  }
  if (imported.unmapped.length > 0) {
    out.push(
      '',
      '# Unmapped operations: no route of their own, so the gateway answers 404 and never calls',
      '# the upstream for them (unless noted, when another route matches their requests).',
    );
    for (const u of imported.unmapped) {
      const via = u.reachableVia === undefined ? '' : ` [matched by route "${u.reachableVia}"]`;
      out.push(`#   ${oneLine(u.label)}: ${oneLine(u.reason)}${via}`);
    }
  }
  return `${out.join('\n')}\n`;
}
