import { checkTarget } from '../request/target.js';
import { describeRequirement } from '../routes/describe.js';
import { readConfigFile } from './config-file.js';

type Print = (line: string) => void;

/** `patgate routes check`: 0 when the config loads, 2 with every error otherwise. */
export async function routesCheck(configPath: string, out: Print, err: Print): Promise<number> {
  const result = await readConfigFile(configPath, {});
  if (!result.ok) {
    for (const e of result.errors) err(e);
    err(`${result.errors.length} error(s)`);
    return 2;
  }
  const { matcher, config } = result.loaded;
  out(`${configPath}: ok: ${matcher.rules.length} routes, ${Object.keys(config.features).length} features`);
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
    const implicit = result.loaded.implicit.map((p) => `${p.feature}:${p.level}`);
    if (implicit.length > 0) out(`  implicit: ${implicit.join(', ')} (held by every fine-grained token)`);
  }
  return 0;
}
