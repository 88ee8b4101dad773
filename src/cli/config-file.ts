import { readFile } from 'node:fs/promises';
import { type LoadConfigResult, loadConfigText } from '../routes/load-config.js';

/** Reads and loads a config file, applying `PATGATE_REDIS_URL`. Never throws. */
export async function readConfigFile(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadConfigResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    return { ok: false, errors: [`${path}: cannot read config file (${reason})`] };
  }
  const redisUrl = env.PATGATE_REDIS_URL;
  return loadConfigText(text, path, redisUrl === undefined || redisUrl === '' ? {} : { redisUrl });
}
