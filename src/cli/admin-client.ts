import { request } from 'undici';

export class AdminClientError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const detail =
      typeof body === 'object' && body !== null && 'detail' in body
        ? String((body as { detail: unknown }).detail)
        : '';
    super(`admin API answered ${status}${detail === '' ? '' : `: ${detail}`}`);
    this.name = 'AdminClientError';
  }
}

/** A small JSON client for the admin API, used by `patgate token ...`. */
export class AdminClient {
  constructor(
    private readonly baseUrl: string,
    private readonly adminToken: string | undefined,
  ) {}

  async call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.adminToken !== undefined) headers.authorization = `Bearer ${this.adminToken}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(new URL(path, this.baseUrl), {
      method,
      headers,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.body.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? null : JSON.parse(text);
    } catch {
      // Keep the raw text for the error message.
    }
    if (res.statusCode >= 400) throw new AdminClientError(res.statusCode, parsed);
    return parsed;
  }
}
