/** One operation of an OpenAPI document, with the fields the importer reads. */
export interface OpenApiOperation {
  /** Upper case. */
  readonly method: string;
  /** The path template as written, e.g. `/repos/{owner}/{repo}`. */
  readonly path: string;
  readonly operationId: string | undefined;
  readonly tags: readonly string[];
  /** GitHub's `x-github.category` / `.subcategory`, when present. */
  readonly category: string | undefined;
  readonly subcategory: string | undefined;
  /** Raw extension values; checked where they are used, so every bad one is reported. */
  readonly xPermission: unknown;
  readonly xPublic: unknown;
  readonly xResource: unknown;
  /** Names of its query parameters, the Path Item's included. */
  readonly queryParams: readonly string[];
  /** Top-level property names of its request body, across media types and `allOf`/`oneOf`/`anyOf`. */
  readonly bodyFields: readonly string[];
  /** Path parameters marked `x-multi-segment: true` (GitHub's mark for values that hold `/`). */
  readonly multiSegment: readonly string[];
}

export type ReadOperationsResult =
  | { ok: true; operations: OpenApiOperation[]; title: string; version: string; openapi: string }
  | { ok: false; error: string };

// OpenAPI 3.0/3.1 operation keys of a Path Item, in the specification's order.
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Follows a local `#/a/b` reference (RFC 6901 escapes), for Path Items defined in components. */
function resolveLocalRef(document: Record<string, unknown>, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (!isRecord(node) || !Object.hasOwn(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** Follows `$ref`s until a value that is not one; undefined past a few hops (a loop) or a dangling one. */
function deref(document: Record<string, unknown>, value: unknown): unknown {
  let node = value;
  for (let hops = 0; hops < 8; hops++) {
    if (!isRecord(node) || typeof node.$ref !== 'string') return node;
    node = resolveLocalRef(document, node.$ref);
  }
  return undefined;
}

function paramNames(
  document: Record<string, unknown>,
  lists: readonly unknown[],
  keep: (param: Record<string, unknown>) => boolean,
): string[] {
  const names = new Set<string>();
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const raw of list) {
      const param = deref(document, raw);
      if (isRecord(param) && typeof param.name === 'string' && keep(param)) names.add(param.name);
    }
  }
  return [...names];
}

/**
 * The property names a request body can carry at its top level. Bodies are where a
 * request can name another owner or repository than its path (a fork's target
 * organization, a transfer's new owner), so the importer looks, without validating.
 */
function bodyFieldNames(document: Record<string, unknown>, requestBody: unknown): string[] {
  const names = new Set<string>();
  const body = deref(document, requestBody);
  const content = isRecord(body) && isRecord(body.content) ? body.content : {};
  const visit = (raw: unknown, depth: number): void => {
    const schema = deref(document, raw);
    if (!isRecord(schema) || depth > 4) return;
    if (isRecord(schema.properties)) for (const name of Object.keys(schema.properties)) names.add(name);
    for (const key of ['allOf', 'oneOf', 'anyOf'] as const) {
      const members = schema[key];
      if (Array.isArray(members)) for (const member of members) visit(member, depth + 1);
    }
    // A list of objects names as much as one object does.
    if (schema.items !== undefined) visit(schema.items, depth + 1);
  };
  for (const media of Object.values(content)) if (isRecord(media)) visit(media.schema, 0);
  return [...names];
}

/**
 * Lists the operations of a parsed (already validated) OpenAPI 3.x document, in
 * document order. Reads only paths, methods and a few fields, so an unusual schema
 * elsewhere in the document never matters here.
 */
export function readOperations(document: unknown): ReadOperationsResult {
  if (!isRecord(document)) return { ok: false, error: 'the document is not an object' };
  const openapi = stringOrUndefined(document.openapi);
  if (openapi === undefined || !/^3\.[01]\./.test(openapi)) {
    return { ok: false, error: `expected an OpenAPI 3.0 or 3.1 document (openapi: ${String(openapi)})` };
  }
  const info = isRecord(document.info) ? document.info : {};
  const paths = isRecord(document.paths) ? document.paths : {};
  const operations: OpenApiOperation[] = [];
  for (const [path, rawItem] of Object.entries(paths)) {
    let item = rawItem;
    if (isRecord(item) && typeof item.$ref === 'string') {
      const target = resolveLocalRef(document, item.$ref);
      if (target === undefined) return { ok: false, error: `paths["${path}"]: cannot resolve ${item.$ref}` };
      item = target;
    }
    if (!isRecord(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (!isRecord(op)) continue;
      const github = isRecord(op['x-github']) ? op['x-github'] : {};
      operations.push({
        method: method.toUpperCase(),
        path,
        operationId: stringOrUndefined(op.operationId),
        tags: Array.isArray(op.tags) ? op.tags.filter((t): t is string => typeof t === 'string') : [],
        category: stringOrUndefined(github.category),
        subcategory: stringOrUndefined(github.subcategory),
        xPermission: op['x-patgate-permission'],
        xPublic: op['x-patgate-public'],
        xResource: op['x-patgate-resource'],
        queryParams: paramNames(document, [item.parameters, op.parameters], (p) => p.in === 'query'),
        bodyFields: bodyFieldNames(document, op.requestBody),
        multiSegment: paramNames(
          document,
          [item.parameters, op.parameters],
          (p) => p.in === 'path' && p['x-multi-segment'] === true,
        ),
      });
    }
  }
  return {
    ok: true,
    operations,
    title: stringOrUndefined(info.title) ?? '(untitled)',
    version: stringOrUndefined(info.version) ?? '',
    openapi,
  };
}

/** `GET /repos/{owner}/{repo} (repos/get)`, for messages. */
export function operationLabel(op: OpenApiOperation): string {
  return `${op.method} ${op.path}${op.operationId === undefined ? '' : ` (${op.operationId})`}`;
}
