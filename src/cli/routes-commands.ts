import { readFile } from 'node:fs/promises';
import { isMap, LineCounter, parseDocument } from 'yaml';
import { formatAcceptedPermissions } from '../grants/permission.js';
import { checkTarget } from '../request/target.js';
import { describeRequirement } from '../routes/describe.js';
import { lintRoutes, type RouteWarning } from '../routes/lint.js';
import { readConfigFile } from './config-file.js';

type Print = (line: string) => void;

export interface RoutesCheckOptions {
  /** Warnings (shadowed rules, resources outside the path, unused features) fail the check too. */
  readonly strict?: boolean;
}

/** Line of each key under `features:`, so a warning about a feature points at it. */
async function featureLines(configPath: string): Promise<Record<string, number>> {
  const lines: Record<string, number> = {};
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch {
    return lines;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const features = doc.get('features', true);
  if (!isMap(features)) return lines;
  for (const pair of features.items) {
    const key = pair.key as { value?: unknown; range?: [number, number, number] } | null;
    if (typeof key?.value === 'string' && key.range !== undefined) {
      lines[key.value] = lineCounter.linePos(key.range[0]).line;
    }
  }
  return lines;
}

function formatWarning(w: RouteWarning, source: string): string {
  const where = w.line === undefined ? source : `${source}:${w.line}`;
  const what = w.index < 0 ? w.pattern : `routes[${w.index}] "${w.pattern}"`;
  return `${where}: warning: ${what}: ${w.message}`;
}

/**
 * `patgate routes check`: 2 with every error when the config does not load;
 * otherwise the warnings (shadowed rules, resources outside the path, unused
 * features) are printed and the exit is 0, or 2 with `--strict`.
 */
export async function routesCheck(
  configPath: string,
  out: Print,
  err: Print,
  options: RoutesCheckOptions = {},
): Promise<number> {
  const result = await readConfigFile(configPath, {});
  if (!result.ok) {
    for (const e of result.errors) err(e);
    err(`${result.errors.length} error(s)`);
    return 2;
  }
  const { matcher, config } = result.loaded;
  const warnings = lintRoutes({
    matcher,
    features: config.features,
    featureLines: await featureLines(configPath),
  });
  for (const w of warnings) err(formatWarning(w, configPath));
  const summary = `${matcher.rules.length} routes, ${Object.keys(config.features).length} features`;
  if (warnings.length > 0 && options.strict === true) {
    err(`${warnings.length} warning(s), which --strict makes errors`);
    return 2;
  }
  const counted = warnings.length === 0 ? '' : `, ${warnings.length} warning(s)`;
  out(`${configPath}: ok: ${summary}${counted}`);
  return 0;
}

/** `patgate routes explain METHOD PATH`: the rule that matches and what it needs. */
export async function routesExplain(
  configPath: string,
  method: string,
  target: string,
  out: Print,
  err: Print,
): Promise<number> {
  const result = await readConfigFile(configPath, {});
  if (!result.ok) {
    for (const e of result.errors) err(e);
    return 2;
  }
  const checked = checkTarget(target);
  if (!checked.ok) {
    out(`${method.toUpperCase()} ${target}: refused with 400 (${checked.reason}: ${checked.detail})`);
    return 1;
  }
  const upper = method.toUpperCase();
  const match = result.loaded.matcher.match(upper, checked.path);
  if (match === null) {
    out(`${upper} ${checked.path}: no route (answered 404; the upstream is never called)`);
    return 1;
  }
  const { rule } = match;
  const where =
    rule.line === undefined ? `routes[${rule.index}]` : `${configPath}:${rule.line} routes[${rule.index}]`;
  out(`${upper} ${checked.path}`);
  out(`  rule:     ${rule.pattern}  (${where})`);
  out(`  needs:    ${describeRequirement(rule)}`);
  const params = Object.entries(match.params);
  if (params.length > 0) out(`  params:   ${params.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  if (rule.requirement.kind === 'permissions') {
    const binding = rule.requirement.resource;
    const resource =
      binding.kind === 'repository'
        ? `repository ${match.params[binding.ownerParam]}/${match.params[binding.repoParam]}`
        : binding.kind === 'owner'
          ? `owner ${match.params[binding.ownerParam]}`
          : "the token's resource owner";
    out(`  resource: ${resource}`);
    if (rule.upstreamChecks.length > 0) {
      const names = rule.upstreamChecks.map((name) => `{${name}}=${match.params[name] ?? ''}`).join(' ');
      out(`  upstream: checks ${names} itself (upstream_checks); the gateway does not`);
    }
    const implicit = result.loaded.implicit.map((p) => `${p.feature}:${p.level}`);
    if (implicit.length > 0) out(`  implicit: ${implicit.join(', ')} (held by every fine-grained token)`);
    const alternatives = rule.requirement.alternatives;
    // Every fine-grained token holds the implicit permissions: no 403 for a missing one can happen.
    const coveredByImplicit = alternatives.some((set) =>
      set.every((p) => implicit.includes(`${p.feature}:${p.level}`)),
    );
    out(
      coveredByImplicit
        ? '  denied:   never for a missing permission (the implicit ones suffice)'
        : `  denied:   403 with X-Accepted-Permissions: ${formatAcceptedPermissions(alternatives)}`,
    );
  }
  return 0;
}
