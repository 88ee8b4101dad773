import { readFile } from 'node:fs/promises';
import { type LoadConfigResult, loadConfigText } from '../routes/load-config.js';
import { applyOverrides, overridesFrom } from './config-overrides.js';

/** A loaded config (or its errors), and which keys the environment set: key → variable. */
export type ConfigFileResult = LoadConfigResult & {
  readonly overrides: Readonly<Record<string, string>>;
  /** The file itself could not be read: `errors` holds one line saying why. */
  readonly unreadable?: true;
};

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
};

/**
 * Reads and loads a config file. `PATGATE_LISTEN` and `PATGATE_UPSTREAM_URL` in `env` set
 * `listen` and `upstream.url`, `PATGATE_REDIS_URL` sets `store.redis_url`: after the file is
 * read and before it is validated, so a map without an upstream (as `routes import` writes it)
 * is served as it is. Never throws.
 */
export async function readConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ConfigFileResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === undefined ? String(error) : `${READ_ERRORS[code] ?? 'cannot read it'} (${code})`;
    return {
      ok: false,
      errors: [`${path}: cannot read the config file: ${reason}`],
      overrides: {},
      unreadable: true,
    };
  }
  const overrides = overridesFrom(env);
  const applied: Record<string, string> = {};
  for (const o of overrides) applied[o.path.join('.')] = o.variable;
  const redisUrl = env.PATGATE_REDIS_URL;
  if (redisUrl !== undefined && redisUrl !== '') applied['store.redis_url'] = 'PATGATE_REDIS_URL';
  const result = loadConfigText(
    applyOverrides(text, overrides),
    path,
    redisUrl === undefined || redisUrl === '' ? {} : { redisUrl },
  );
  if (result.ok) return { ...result, overrides: applied };
  // An error about a key the environment set names the variable: the file is not at fault.
  const errors = result.errors.map((e) => {
    for (const [key, variable] of Object.entries(applied)) {
      if (e.includes(`: ${key}: `)) return e.replace(`: ${key}: `, `: ${key} (from ${variable}): `);
    }
    return e;
  });
  return { ok: false, errors, overrides: applied };
}
