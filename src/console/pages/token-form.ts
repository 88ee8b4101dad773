import { LEVELS, type Level } from '../../config/permission.js';
import { MAX_TOKEN_DESCRIPTION_LENGTH } from '../../grants/token-record.js';

/** Expiry choices offered first, as GitHub's token page does (days). */
export const EXPIRATION_PRESETS = [7, 30, 60, 90] as const;
const DAY_MS = 86_400_000;

/** What the new-token form shows: from a template URL, or from a submission to show again. */
export interface TokenDraft {
  readonly name: string;
  /** What the token is for, in more words than the name; empty for none. */
  readonly description: string;
  readonly owner: string;
  readonly repositoryAccess: 'all' | 'selected';
  /** Repository names (without the owner). */
  readonly repositories: readonly string[];
  readonly permissions: Readonly<Record<string, Level>>;
  /** A preset number of days, as text, or `custom`. */
  readonly expiration: string;
  /** `YYYY-MM-DD`, for `custom`. */
  readonly expiresOn: string;
}

export type FormValue = string | File | (string | File)[];
export type FormFields = Readonly<Record<string, FormValue>>;

function text(value: FormValue | string | undefined): string {
  if (typeof value === 'string') return value.trim();
  if (Array.isArray(value)) return text(value[0]);
  return '';
}

function texts(value: FormValue | undefined): string[] {
  if (value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
}

function isLevel(value: string): value is Level {
  return (LEVELS as readonly string[]).includes(value);
}

/** `a, b c` → `[a, b, c]`: lists in query strings and free-text fields. */
function splitList(value: string): string[] {
  return value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

/** `issues:read,contents:write` → a permission map; unknown words are dropped (the form shows what was understood). */
export function parsePermissionList(value: string): Record<string, Level> {
  const map: Record<string, Level> = Object.create(null);
  for (const item of splitList(value)) {
    const [feature = '', level = ''] = item.split(':');
    if (/^[a-z][a-z0-9_]*$/.test(feature) && isLevel(level)) map[feature] = level;
  }
  return map;
}

function dateIn(days: number, now: number): string {
  return new Date(now + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * A template URL's query (`?name=&owner=&repositories=&permissions=&expires_in_days=`,
 * GitHub's template URLs) as a draft for `user`. Nothing here is trusted: the draft only
 * fills in the form, and the submission is checked like any other.
 */
export function draftFromTemplate(
  query: Readonly<Record<string, string>>,
  user: string,
  now: number,
): TokenDraft {
  const repositories = splitList(query.repositories ?? '').map((r) => r.slice(r.indexOf('/') + 1));
  const days = Number.parseInt(query.expires_in_days ?? '', 10);
  const preset = (EXPIRATION_PRESETS as readonly number[]).includes(days);
  const custom = !preset && Number.isInteger(days) && days >= 1 && days <= 366;
  return {
    name: (query.name ?? '').slice(0, 100),
    description: (query.description ?? '').slice(0, MAX_TOKEN_DESCRIPTION_LENGTH),
    owner: (query.owner ?? '').trim().toLowerCase() || user,
    repositoryAccess: repositories.length > 0 ? 'selected' : 'all',
    repositories,
    permissions: parsePermissionList(query.permissions ?? ''),
    expiration: preset ? String(days) : custom ? 'custom' : '30',
    expiresOn: custom ? dateIn(days, now) : dateIn(30, now),
  };
}

/** A form submission: the draft to show again, and the admin API body it asks for (or why not). */
export interface ParsedTokenForm {
  readonly draft: TokenDraft;
  readonly input: Record<string, unknown> | null;
  readonly error: string | null;
}

/**
 * Reads the new-token form into the self-service API's body. Only the form's own
 * mistakes are caught here (a repository of another owner, a missing date); everything
 * else, catalogue and org policy included, is the token service's to judge.
 */
export function parseTokenForm(form: FormFields): ParsedTokenForm {
  const owner = text(form.owner).toLowerCase();
  const repositoryAccess = text(form.repository_access) === 'selected' ? 'selected' : 'all';
  let error: string | null = null;
  const repositories: string[] = [];
  for (const entry of [...texts(form.repositories), ...splitList(text(form.repositories_text))]) {
    const slash = entry.indexOf('/');
    if (slash >= 0 && entry.slice(0, slash).toLowerCase() !== owner) {
      error ??= `repository ${entry} does not belong to ${owner}; pick repositories of the resource owner`;
      continue;
    }
    const name = entry.slice(slash + 1);
    if (!repositories.includes(name)) repositories.push(name);
  }
  const permissions: Record<string, Level> = Object.create(null);
  for (const [key, value] of Object.entries(form)) {
    if (!key.startsWith('perm.')) continue;
    const level = text(value);
    if (isLevel(level)) permissions[key.slice('perm.'.length)] = level;
  }
  const expiration = text(form.expiration);
  const expiresOn = text(form.expires_on);
  const draft: TokenDraft = {
    name: text(form.name),
    description: text(form.description),
    owner,
    repositoryAccess,
    repositories,
    permissions,
    expiration,
    expiresOn,
  };
  let expiry: Record<string, unknown>;
  if (expiration === 'custom') {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(expiresOn)) {
      error ??= 'expiration: pick a date for a custom expiry';
      expiry = {};
    } else {
      expiry = { expires_at: `${expiresOn}T00:00:00Z` };
    }
  } else {
    const days = Number.parseInt(expiration, 10);
    expiry = Number.isInteger(days) ? { expires_in_days: days } : {};
  }
  if (repositoryAccess === 'selected' && repositories.length === 0) {
    error ??= 'repository access: name at least one repository, or choose all repositories';
  }
  if (error !== null) return { draft, input: null, error };
  return {
    draft,
    input: {
      kind: 'fine_grained',
      name: draft.name,
      ...(draft.description === '' ? {} : { description: draft.description }),
      resource_owner: owner,
      repositories: repositoryAccess === 'all' ? 'all' : repositories,
      permissions,
      ...expiry,
    },
    error: null,
  };
}
