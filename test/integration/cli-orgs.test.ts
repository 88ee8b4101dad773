import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, TEST_ADMIN_TOKEN } from '../helpers/gateway-process.js';
import { call, createToken, type Stack, startStack } from '../helpers/stack.js';

/**
 * `patgate org ...` against a real gateway process (Redis store): the site admin
 * sets the org up, then its admin acts with their own token in PATGATE_ADMIN_TOKEN.
 */
let stack: Stack;
let carolToken: string;

function org(args: string[], credential = TEST_ADMIN_TOKEN): ReturnType<typeof runCli> {
  return runCli(['org', ...args, '--admin-url', stack.gateway.adminUrl], { PATGATE_ADMIN_TOKEN: credential });
}

function json(stdout: string): Record<string, unknown> {
  return JSON.parse(stdout) as Record<string, unknown>;
}

beforeAll(async () => {
  stack = await startStack({ store: 'redis' });
  for (const [user, role] of [
    ['carol', 'admin'],
    ['alice', 'member'],
  ] as const) {
    const added = await org(['members', 'acme', 'add', user, '--role', role]);
    expect(added).toMatchObject({ code: 0, stdout: `${user} is now ${role} of acme\n` });
  }
  carolToken = (
    await createToken(stack.gateway.adminUrl, {
      user: 'carol',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { organization_tokens: 'write' },
    })
  ).token;
});

afterAll(async () => {
  await stack?.close();
});

// Each CLI run is a fresh Node process: give the multi-step cases room on a loaded 2-core machine.
describe('patgate org', { timeout: 60_000 }, () => {
  it('members lists people in a table', async () => {
    const { code, stdout } = await org(['members', 'acme'], carolToken);
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^USER\s+ROLE$/),
      expect.stringMatching(/^alice\s+member$/),
      expect.stringMatching(/^carol\s+admin$/),
    ]);
  });

  it('policy shows the policy and changes it with --set, as the org admin', async () => {
    const changed = await org(
      ['policy', 'acme', '--set', 'require_approval=true', '--set', 'max_lifetime_days=90'],
      carolToken,
    );
    expect(changed.code).toBe(0);
    expect(changed.stdout).toMatch(/^require_approval:\s+true$/m);
    expect(changed.stdout).toMatch(/^max_lifetime_days:\s+90$/m);
    expect(json((await org(['policy', 'acme', '--json'], carolToken)).stdout)).toMatchObject({
      org: 'acme',
      require_approval: true,
      max_lifetime_days: 90,
      classic_tokens: 'allowed',
    });
    const cleared = await org(['policy', 'acme', '--set', 'max_lifetime_days=none', '--json'], carolToken);
    expect(json(cleared.stdout)).toMatchObject({ max_lifetime_days: null, require_approval: true });
  });

  it('a bad --set names the field and exits 1', async () => {
    const bad = await org(['policy', 'acme', '--set', 'classic_tokens=sometimes'], carolToken);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/400: classic_tokens/);
    const malformed = await org(['policy', 'acme', '--set', 'oops']);
    expect(malformed.code).not.toBe(0);
    expect(malformed.stderr).toMatch(/key=value/);
  });

  it('requests, approve and deny, with reasons', async () => {
    const body = {
      user: 'alice',
      resource_owner: 'acme',
      repositories: ['api'],
      permissions: { issues: 'read' },
    };
    const first = await createToken(stack.gateway.adminUrl, body);
    const second = await createToken(stack.gateway.adminUrl, { ...body, name: 'second' });
    const listed = await org(['requests', 'acme'], carolToken);
    expect(listed.stdout).toMatch(
      new RegExp(`^${first.id}\\s+fine_grained\\s+alice\\s+acme\\s+pending`, 'm'),
    );
    const ids = (
      json((await org(['requests', 'acme', '--json'], carolToken)).stdout).requests as { id: string }[]
    ).map((r) => r.id);
    expect(ids).toEqual([first.id, second.id]);

    expect(await org(['approve', 'acme', first.id, '--reason', 'CI for api'], carolToken)).toMatchObject({
      code: 0,
      stdout: `approved ${first.id}\n`,
    });
    expect(await org(['deny', 'acme', second.id, '--reason', 'one is enough'], carolToken)).toMatchObject({
      code: 0,
      stdout: `denied ${second.id}\n`,
    });
    expect(
      (await call(stack.gateway.url, 'GET', '/repos/acme/api/issues', { token: first.token })).status,
    ).toBe(200);
    const denied = await call(stack.gateway.url, 'GET', '/repos/acme/api/issues', { token: second.token });
    expect(denied.json().detail).toMatch(/one is enough/);
    const again = await org(['approve', 'acme', second.id], carolToken);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/409/);

    // tokens and revoke: the org's view and its cut-off.
    const tokens = await org(['tokens', 'acme'], carolToken);
    expect(tokens.stdout).toContain(first.id);
    expect(tokens.stdout).not.toContain(second.id);
    expect(await org(['revoke', 'acme', first.id, '--reason', 'rotating'], carolToken)).toMatchObject({
      code: 0,
      stdout: `revoked ${first.id}\n`,
    });
    expect(
      (await call(stack.gateway.url, 'GET', '/repos/acme/api/issues', { token: first.token })).status,
    ).toBe(401);

    const audit = await org(['audit', 'acme', '--token', first.id], carolToken);
    const rows = audit.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^AT\s+ACTION\s+ACTOR\s+ORG\s+TOKEN\s+USER\s+REASON$/);
    expect(rows.slice(1).map((r) => r.split(/\s{2,}/).slice(1, 3))).toEqual([
      ['token.revoke', 'carol (org admin)'],
      ['token.approve', 'carol (org admin)'],
      ['token.create', 'site admin'],
    ]);
    expect(rows[1]).toMatch(/rotating$/);
  });

  it('members remove cuts the member off and says so; an unknown action is a usage error', async () => {
    await org(['members', 'acme', 'add', 'zed']);
    const removed = await org(['members', 'acme', 'remove', 'zed', '--reason', 'left'], carolToken);
    expect(removed).toMatchObject({
      code: 0,
      stdout: 'zed removed from acme; their tokens no longer reach it\n',
    });
    const again = await org(['members', 'acme', 'remove', 'zed'], carolToken);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/404/);
    const usage = await org(['members', 'acme', 'promote', 'zed']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/add or remove/);
  });

  it('members add as an org admin invites; the person lists and accepts with patgate user', async () => {
    const invited = await org(['members', 'acme', 'add', 'zoe', '--role', 'admin'], carolToken);
    expect(invited.code).toBe(0);
    expect(invited.stdout).toMatch(/^invited zoe to acme as admin; they are a member once they accept$/m);
    expect(invited.stdout).toMatch(/they accept with: patgate user accept acme\)$/m);
    expect((await org(['members', 'acme'], carolToken)).stdout).not.toMatch(/zoe/);
    const listed = await org(['invitations', 'acme'], carolToken);
    expect(listed.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^ORG\s+USER\s+ROLE\s+INVITED BY\s+EXPIRES$/),
      expect.stringMatching(/^acme\s+zoe\s+admin\s+carol\s+\d{4}-/),
    ]);

    const zoeToken = (
      await createToken(stack.gateway.adminUrl, { kind: 'classic', user: 'zoe', scopes: ['read'] })
    ).token;
    const asZoe = (args: string[], env: Record<string, string> = { PATGATE_TOKEN: zoeToken }) =>
      runCli(['user', ...args, '--admin-url', stack.gateway.adminUrl], env);
    expect((await asZoe(['invitations'])).stdout).toMatch(/^acme\s+zoe\s+admin\s+carol\s+/m);
    expect(await asZoe(['accept', 'acme'])).toMatchObject({ code: 0, stdout: 'you are now admin of acme\n' });
    expect((await org(['members', 'acme'], carolToken)).stdout).toMatch(/^zoe\s+admin$/m);
    const again = await asZoe(['accept', 'acme']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/404: no open invitation of zoe to organization acme/);

    // The token comes from the environment only.
    const unset = await asZoe(['invitations'], {});
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/set PATGATE_TOKEN/);
  });

  it('invitations cancel withdraws one; audit names the person who accepted', async () => {
    expect((await org(['members', 'acme', 'add', 'yan'], carolToken)).code).toBe(0);
    expect(await org(['invitations', 'acme', 'cancel', 'yan', '--reason', 'typo'], carolToken)).toMatchObject(
      {
        code: 0,
        stdout: 'cancelled the invitation of yan to acme\n',
      },
    );
    expect((await org(['invitations', 'acme'], carolToken)).stdout).toBe('(none)\n');
    const audit = await org(['audit', 'acme', '--user', 'zoe'], carolToken);
    expect(audit.stdout).toMatch(/org\.member\.accept\s+zoe \(user\)\s+acme/);
  });

  it('policy --force applies a policy that leaves no org admin able to act', async () => {
    await org(['members', 'globex', 'add', 'gus', '--role', 'admin']);
    const gus = (
      await createToken(stack.gateway.adminUrl, {
        user: 'gus',
        resource_owner: 'globex',
        repositories: 'all',
        permissions: { organization_tokens: 'write' },
      })
    ).token;
    const refused = await org(['policy', 'globex', '--set', 'fine_grained_tokens=blocked'], gus);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/422: this policy would leave no admin of organization globex able/);
    const forced = await org(['policy', 'globex', '--set', 'fine_grained_tokens=blocked', '--force'], gus);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/^fine_grained_tokens:\s+blocked$/m);
  });

  it('refuses a plain member and an admin of another org with the API detail', async () => {
    const alice = await createToken(stack.gateway.adminUrl, {
      user: 'alice',
      resource_owner: 'acme',
      repositories: 'all',
      permissions: { organization_tokens: 'write' },
    });
    await org(['approve', 'acme', alice.id]);
    const member = await org(['members', 'acme'], alice.token);
    expect(member.code).toBe(1);
    expect(member.stderr).toMatch(/403: alice is not an admin of organization acme/);
    const elsewhere = await org(['policy', 'globex'], carolToken);
    expect(elsewhere.code).toBe(1);
    expect(elsewhere.stderr).toMatch(/403/);
  });
});
