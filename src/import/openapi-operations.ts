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
