import type { FC } from 'hono/jsx';
import { MAX_TOKEN_DESCRIPTION_LENGTH } from '../../grants/token-record.js';
import { type FeatureEntry, type FeatureGroup, GROUP_TITLES } from './catalogue.js';
import { Csrf, Notice } from './layout.js';
import { EXPIRATION_PRESETS, type TokenDraft } from './token-form.js';
import type { Viewer } from './viewer.js';

/** A resource owner the person may pick, with what its policy says about new tokens. */
export interface OwnerChoice {
  readonly name: string;
  /** The owner's rules in words: lifetime limit, approval. */
  readonly rules: string;
  /** Repositories named by the owner's existing tokens, to pick from. */
  readonly knownRepositories: readonly string[];
}

export interface NewTokenFormProps {
  readonly viewer: Viewer;
  readonly draft: TokenDraft;
  readonly owners: readonly OwnerChoice[];
  readonly features: readonly FeatureEntry[];
  readonly error: string | null;
}

const GROUPS: readonly FeatureGroup[] = ['repository', 'organization', 'account'];

/** GitHub's fine-grained token form, server-rendered: works without JavaScript. */
export const NewTokenForm: FC<NewTokenFormProps> = ({ viewer, draft, owners, features, error }) => (
  <form method="post" action="/console/tokens">
    <Csrf viewer={viewer} />
    {error === null ? null : <Notice error>{error}</Notice>}
    <fieldset>
      <legend>Token</legend>
      <label for="name">Token name</label>
      <p class="hint" id="name-hint">
        A unique name that says what the token is for.
      </p>
      <input
        type="text"
        id="name"
        name="name"
        required
        maxlength={100}
        value={draft.name}
        aria-describedby="name-hint"
      />
      <label for="description">Description</label>
      <p class="hint" id="description-hint">
        Optional: what the token is for, in more words. Plain text.
      </p>
      <textarea
        id="description"
        name="description"
        maxlength={MAX_TOKEN_DESCRIPTION_LENGTH}
        aria-describedby="description-hint"
      >
        {draft.description}
      </textarea>
    </fieldset>

    <fieldset>
      <legend>Resource owner</legend>
      <label for="owner">Owner</label>
      <p class="hint" id="owner-hint">
        The token reaches this account or organization only.
      </p>
      <select id="owner" name="owner" aria-describedby="owner-hint owner-rules">
        {owners.map((o) => (
          <option value={o.name} selected={o.name === draft.owner}>
            {o.name}
          </option>
        ))}
      </select>
      <ul class="hint" id="owner-rules">
        {owners.map((o) => (
          <li>
            <strong>{o.name}</strong>: {o.rules}
          </li>
        ))}
      </ul>
    </fieldset>

    <fieldset>
      <legend>Expiration</legend>
      <label for="expiration">Expires in</label>
      <select id="expiration" name="expiration" aria-describedby="expiration-hint">
        {EXPIRATION_PRESETS.map((days) => (
          <option value={String(days)} selected={draft.expiration === String(days)}>
            {`${days} days`}
          </option>
        ))}
        <option value="custom" selected={draft.expiration === 'custom'}>
          Custom date
        </option>
      </select>
      <label for="expires_on">Custom expiry date (used when "Custom date" is chosen)</label>
      <input
        type="date"
        id="expires_on"
        name="expires_on"
        value={draft.expiresOn}
        aria-describedby="expiration-hint"
      />
      <p class="hint" id="expiration-hint">
        The token stops working at the start of that day (UTC). Each owner's longest allowed lifetime is
        listed under Resource owner.
      </p>
    </fieldset>

    <fieldset>
      <legend>Repository access</legend>
      <input
        type="radio"
        id="access-all"
        name="repository_access"
        value="all"
        checked={draft.repositoryAccess === 'all'}
      />
      <label class="inline" for="access-all">
        All repositories of the owner
      </label>
      <input
        type="radio"
        id="access-selected"
        name="repository_access"
        value="selected"
        checked={draft.repositoryAccess === 'selected'}
      />
      <label class="inline" for="access-selected">
        Only select repositories
      </label>
      {owners
        .filter((o) => o.knownRepositories.length > 0)
        .map((o) => (
          <fieldset>
            <legend>{`Known repositories of ${o.name}`}</legend>
            {o.knownRepositories.map((repo) => {
              const id = `repo-${o.name}-${repo}`;
              return (
                <span>
                  <input
                    type="checkbox"
                    id={id}
                    name="repositories"
                    value={`${o.name}/${repo}`}
                    checked={o.name === draft.owner && draft.repositories.includes(repo)}
                  />
                  <label class="inline" for={id}>{`${o.name}/${repo}`}</label>
                </span>
              );
            })}
          </fieldset>
        ))}
      <label for="repositories_text">Repositories (for "Only select repositories")</label>
      <p class="hint" id="repositories-hint">
        Names separated by commas or spaces, e.g. <code>api, web</code>.
      </p>
      <textarea id="repositories_text" name="repositories_text" aria-describedby="repositories-hint">
        {knownFree(draft, owners).join(', ')}
      </textarea>
    </fieldset>

    {GROUPS.map((group) => {
      const entries = features.filter((f) => f.group === group);
      if (entries.length === 0) return null;
      return (
        <fieldset>
          <legend>{GROUP_TITLES[group]}</legend>
          <table class="perm-table">
            <thead>
              <tr>
                <th scope="col">Permission</th>
                <th scope="col">Access</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((f) => (
                <tr>
                  <td>
                    <label for={`perm-${f.name}`}>{f.title}</label>
                    <div class="hint" id={`perm-${f.name}-hint`}>
                      <code>{f.name}</code>
                      {f.description === null ? '' : ` — ${f.description}`}
                    </div>
                  </td>
                  <td>
                    <select
                      id={`perm-${f.name}`}
                      name={`perm.${f.name}`}
                      aria-describedby={`perm-${f.name}-hint`}
                    >
                      <option value="none">No access</option>
                      {f.levels.map((level) => (
                        <option value={level} selected={draft.permissions[f.name] === level}>
                          {level === 'read' ? 'Read-only' : level === 'write' ? 'Read and write' : 'Admin'}
                        </option>
                      ))}
                    </select>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </fieldset>
      );
    })}
    <button type="submit" class="primary">
      Generate token
    </button>
  </form>
);

/** Repositories of the draft that are not offered as a checkbox: they go in the free-text field. */
function knownFree(draft: TokenDraft, owners: readonly OwnerChoice[]): string[] {
  const known = owners.find((o) => o.name === draft.owner)?.knownRepositories ?? [];
  return draft.repositories.filter((r) => !known.includes(r));
}
