import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { TrustedProxies } from '../../src/request/trusted-proxies.js';
import { loadConfigText } from '../../src/routes/load-config.js';

// compose.yaml without a Docker engine: what can be checked from the files is checked. The nginx
// service must run the very config CI runs against real nginx (deploy-nginx.test.ts), changed
// only in its addresses, and those addresses must be where the other services listen.

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const NGINX = process.env.PATGATE_TEST_NGINX ?? '/usr/sbin/nginx';
const EXAMPLE = join(ROOT, 'deploy/nginx/nginx.conf');

interface Service {
  readonly image?: string;
  readonly build?: string;
  readonly command?: string | readonly string[];
  readonly volumes?: readonly string[];
  readonly ports?: readonly string[];
  readonly depends_on?: Readonly<Record<string, unknown>>;
  readonly networks?: Readonly<Record<string, { readonly ipv4_address?: string } | null>>;
}

interface Compose {
  readonly services: Readonly<Record<string, Service>>;
  readonly networks?: Readonly<
    Record<string, { readonly ipam?: { readonly config?: readonly { readonly subnet?: string }[] } }>
  >;
}

let compose: Compose;
let dir: string;

beforeAll(async () => {
  compose = parse(await readFile(join(ROOT, 'compose.yaml'), 'utf8')) as Compose;
  dir = await mkdtemp(join(tmpdir(), 'patgate-compose-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function service(name: string): Service {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`compose.yaml has no ${name} service`);
  return found;
}

/** The host path mounted at `target`, from a `host:target[:mode]` volume entry. */
function mountedAt(svc: Service, target: string): string | undefined {
  for (const volume of svc.volumes ?? []) {
    const [host, inside] = volume.split(':');
    if (inside === target) return host;
  }
  return undefined;
}

/** The `sed -e 's/from/to/'` expressions of the nginx service's command, as (RegExp, replacement). */
function substitutions(svc: Service): [RegExp, string][] {
  const command = Array.isArray(svc.command) ? svc.command.join(' ') : String(svc.command ?? '');
  const found = [...command.matchAll(/-e '(s\/(?:[^/\\]|\\.)*\/[^/]*\/)'/g)].map((m) => {
    const [, from, to] = /^s\/((?:[^/\\]|\\.)*)\/([^/]*)\/$/.exec(m[1] as string) ?? [];
    return [new RegExp(from as string, 'g'), to as string] as [RegExp, string];
  });
  return found;
}

/** The shipped example with the compose service's substitutions applied; each must apply once. */
async function renderedNginxConfig(): Promise<string> {
  let text = await readFile(EXAMPLE, 'utf8');
  for (const [pattern, replacement] of substitutions(service('nginx'))) {
    expect(text.match(pattern), `${pattern} in deploy/nginx/nginx.conf`).toHaveLength(1);
    text = text.replace(pattern, replacement);
  }
  return text;
}

describe('compose.yaml', () => {
  it('mounts the nginx example that CI runs, and changes only its three addresses', async () => {
    const nginx = service('nginx');
    const config = '/etc/patgate/nginx.conf';
    expect(mountedAt(nginx, config)).toBe('./deploy/nginx/nginx.conf');
    expect(String(nginx.command)).toContain(`${config} > /etc/nginx/nginx.conf`);
    expect(substitutions(nginx)).toHaveLength(3);
    const rendered = await renderedNginxConfig();
    const example = await readFile(EXAMPLE, 'utf8');
    const changed = rendered.split('\n').filter((line, i) => line !== example.split('\n')[i]);
    expect(changed.map((line) => line.trim())).toEqual([
      'upstream api { server upstream:80; keepalive 256; }',
      'upstream patgate_decision { server patgate:8082; keepalive 256; }',
      'listen 8000;',
    ]);
  });

  it('points nginx at the decision listener and the upstream where patgate listens for them', async () => {
    const text = await readFile(join(ROOT, 'deploy/compose/patgate.yaml'), 'utf8');
    const loaded = loadConfigText(text, 'deploy/compose/patgate.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const { config } = loaded.loaded;
    expect(mountedAt(service('patgate'), '/app/config/patgate.yaml')).toBe('./deploy/compose/patgate.yaml');
    const rendered = await renderedNginxConfig();
    // nginx asks patgate:8082; patgate's decision listener is on that port, on every interface.
    expect(config.decision?.listen).toBe('0.0.0.0:8082');
    expect(rendered).toContain('server patgate:8082;');
    // patgate and nginx forward to the same upstream service.
    const upstream = new URL(config.upstream.url);
    expect(rendered).toContain(`server ${upstream.hostname}:${upstream.port || '80'};`);
    expect(service('upstream').image).toMatch(/^traefik\/whoami:/);
    // nginx's fixed address is the only trusted peer, and lies in the compose network.
    const address = service('nginx').networks?.default?.ipv4_address;
    expect(address).toBeDefined();
    expect(new TrustedProxies(config.trusted_proxies).has(address)).toBe(true);
    expect(new TrustedProxies(config.trusted_proxies).has('172.28.0.11')).toBe(false);
    const subnet = compose.networks?.default?.ipam?.config?.[0]?.subnet;
    expect(new TrustedProxies([subnet ?? '']).has(address)).toBe(true);
    // Published on the host's loopback only, on the port nginx listens on.
    expect(service('nginx').ports).toEqual(['127.0.0.1:8000:8000']);
    expect(Object.keys(service('nginx').depends_on ?? {})).toEqual(
      expect.arrayContaining(['patgate', 'upstream']),
    );
  });

  it('keeps Redis persistent: AOF on a named volume, no eviction', () => {
    const redis = service('redis');
    const command = (redis.command ?? []) as readonly string[];
    expect(command.join(' ')).toContain('--appendonly yes');
    expect(command.join(' ')).toContain('--maxmemory-policy noeviction');
    expect(mountedAt(redis, '/data')).toBe('redis-data');
  });

  it('hands nginx a config that nginx -t accepts', async () => {
    // Outside compose the service names do not resolve, and nginx resolves upstream servers at
    // load: only they are replaced, by a loopback address, for this check.
    const rendered = (await renderedNginxConfig())
      .replace('server upstream:80;', 'server 127.0.0.1:80;')
      .replace('server patgate:8082;', 'server 127.0.0.1:8082;');
    const file = join(dir, 'nginx.conf');
    await writeFile(file, rendered);
    const { stderr } = await run(NGINX, [
      '-t',
      '-p',
      dir,
      '-c',
      file,
      '-g',
      `pid ${dir}/nginx.pid; error_log stderr notice;`,
    ]);
    expect(stderr).toContain('test is successful');
  });
});
