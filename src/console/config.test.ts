import { describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';

const base = { upstream: { url: 'http://127.0.0.1:9' }, features: {}, routes: [] };
const oidc = {
  issuer: 'https://id.example.com',
  client_id: 'patgate',
  client_secret_env: 'PATGATE_OIDC_SECRET',
};

function parse(console: Record<string, unknown>) {
  return configSchema.safeParse({
    ...base,
    console: { listen: '127.0.0.1:8083', public_url: 'https://tokens.example.com', ...console },
  });
}

describe('config: console', () => {
  it('takes OIDC with the documented defaults', () => {
    const result = parse({ oidc });
    expect(result.success).toBe(true);
    expect(result.data?.console).toMatchObject({
      oidc: { user_claim: 'sub' },
      session: { idle_minutes: 60, absolute_hours: 12 },
    });
  });

  it('takes a trusted identity header instead', () => {
    expect(parse({ trusted_identity_header: 'X-Forwarded-User' }).success).toBe(true);
  });

  it.each([
    ['neither sign-in', {}],
    ['both sign-ins', { oidc, trusted_identity_header: 'X-Forwarded-User' }],
    ['a public_url with a path', { oidc, public_url: 'https://example.com/tokens' }],
    ['an http issuer off loopback', { oidc: { ...oidc, issuer: 'http://id.example.com' } }],
    ['a secret in place of its variable name', { oidc: { ...oidc, client_secret_env: 's3cr3t value!' } }],
    ['a zero idle limit', { oidc, session: { idle_minutes: 0 } }],
    ['an unknown key', { oidc, pages: true }],
  ])('refuses %s', (_what, console) => {
    expect(parse(console).success).toBe(false);
  });

  it('allows an http issuer on a loopback host (a local provider, tests)', () => {
    expect(parse({ oidc: { ...oidc, issuer: 'http://127.0.0.1:9000' } }).success).toBe(true);
  });
});

describe('config: console site admins and feature titles', () => {
  it('lower-cases site admins and refuses what is no login', () => {
    expect(parse({ oidc, site_admins: ['Alice'] }).data?.console?.site_admins).toEqual(['alice']);
    expect(parse({ oidc, site_admins: ['alice@example.com'] }).success).toBe(false);
  });

  it('reads a feature as levels, or as levels with a title and description', () => {
    const result = configSchema.safeParse({
      ...base,
      features: {
        issues: [`read`, 'write'],
        contents: { levels: ['read'], title: 'Contents', description: 'Files' },
      },
    });
    expect(result.success).toBe(true);
    const features = result.data?.features ?? {};
    expect([...(features.issues ?? [])]).toEqual(['read', 'write']);
    expect([...(features.contents ?? [])]).toEqual(['read']);
    expect(features.contents?.title).toBe('Contents');
    expect(features.contents?.description).toBe('Files');
    expect(
      configSchema.safeParse({ ...base, features: { contents: { levels: ['read'], colour: 'red' } } })
        .success,
    ).toBe(false);
  });
});
