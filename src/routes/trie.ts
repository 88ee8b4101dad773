import type { PatternSegment } from './pattern.js';
import type { RouteMatch, RouteRule } from './types.js';

interface Entry {
  readonly rule: RouteRule;
  /** Names of the rule's params in path order; the trie node path fixes their positions. */
  readonly paramNames: readonly string[];
}

/** Rules ending at one node, by method (`*` included). */
type Terminal = Map<string, Entry>;

interface TrieNode {
  readonly literals: Map<string, TrieNode>;
  param: TrieNode | undefined;
  /** Rules whose last segment is `{name+}` at this position. */
  catchAll: Terminal | undefined;
  /** Rules whose path ends exactly at this node. */
  end: Terminal | undefined;
  /** Every method with a rule in this subtree, so a lookup skips subtrees that cannot answer it. */
  readonly methods: Set<string>;
  /** `methods.has('*')`, kept apart so the usual reachability test is one Set lookup. */
  anyMethod: boolean;
}

/** Counts nodes entered by one lookup; for tests and benchmarks. */
export interface MatchStats {
  visited: number;
}

function newNode(): TrieNode {
  return {
    literals: new Map(),
    param: undefined,
    catchAll: undefined,
    end: undefined,
    methods: new Set(),
    anyMethod: false,
  };
}

/**
 * Method precedence among rules of the SAME path shape: the request's own method,
 * then `GET` for a `HEAD` request (RFC 9110 §9.3.2: HEAD is GET without a body),
 * then `*`. Path specificity is decided before this is ever asked.
 */
function pick(terminal: Terminal, method: string): Entry | undefined {
  return terminal.get(method) ?? (method === 'HEAD' ? terminal.get('GET') : undefined) ?? terminal.get('*');
}

function reachable(node: TrieNode, method: string): boolean {
  return node.anyMethod || node.methods.has(method) || (method === 'HEAD' && node.methods.has('GET'));
}

/**
 * Holds a match's params: own properties only, and a prototype chain with nothing on it (the
 * prototype is a null-prototype object), so a param may legally be called `__proto__` or
 * `constructor` as with `Object.create(null)`, but objects keep V8's fast properties rather than
 * the dictionary mode a null-prototype object starts in. Built on every matched request.
 */
const Params = function Params(this: Record<string, string>) {} as unknown as new () => Record<
  string,
  string
>;
Params.prototype = Object.create(null);

/**
 * Splits an origin-form path into raw segments. `request/` has already refused
 * ambiguous targets; this refuses them again (no match) rather than trusting the
 * caller, because a param that captured `..` or `` would authorize the wrong thing.
 */
function splitPath(path: string): string[] | null {
  if (path.charCodeAt(0) !== 0x2f) return null;
  if (path.length === 1) return ROOT_SEGMENTS;
  // segments[0] is the empty string before the leading `/`; lookups start at index 1.
  const segments = path.split('/');
  for (let k = 1; k < segments.length; k++) {
    const s = segments[k];
    if (s === '' || s === '.' || s === '..') return null;
  }
  return segments;
}

const ROOT_SEGMENTS: string[] = [''];

/**
 * One trie for all methods, keyed by path shape; each node holding rules keeps them
 * by method. A lookup walks the path once, trying the literal child, then the param
 * child, then a catch-all, and backtracks only when a branch dead-ends. Because that
 * order is the precedence order, the first rule found is the most specific one.
 * Each node sits at one depth, so a lookup enters each node at most once: its cost
 * is bounded by the path's length and the branching on it, not by the route count.
 *
 * Decision on `*`: the most specific PATH wins first, whatever the methods; only
 * between rules of the same shape does the exact method beat `GET`-for-`HEAD`, which
 * beats `*`. So `* /admin/{rest+}` still guards `GET /admin/x` even when a broader
 * `GET /{rest+}` exists — a method-specific rule never silently widens access to a
 * more specific path an operator fenced off with `*`.
 */
export class RouteTrie {
  private readonly root: TrieNode = newNode();

  /**
   * Adds a rule. When a rule with the same method and shape is already present the
   * trie is left unchanged and that rule is returned, for a conflict error.
   */
  insert(rule: RouteRule, segments: readonly PatternSegment[]): RouteRule | undefined {
    const visited: TrieNode[] = [this.root];
    const paramNames: string[] = [];
    let node = this.root;
    let atCatchAll = false;
    for (const segment of segments) {
      if (segment.kind === 'literal') {
        let child = node.literals.get(segment.value);
        if (child === undefined) {
          child = newNode();
          node.literals.set(segment.value, child);
        }
        node = child;
        visited.push(node);
      } else if (segment.kind === 'param') {
        paramNames.push(segment.name);
        node.param ??= newNode();
        node = node.param;
        visited.push(node);
      } else {
        paramNames.push(segment.name);
        atCatchAll = true;
      }
    }
    let terminal = atCatchAll ? node.catchAll : node.end;
    if (terminal === undefined) {
      terminal = new Map();
      if (atCatchAll) node.catchAll = terminal;
      else node.end = terminal;
    }
    const existing = terminal.get(rule.method);
    if (existing !== undefined) return existing.rule;
    terminal.set(rule.method, { rule, paramNames });
    for (const n of visited) {
      n.methods.add(rule.method);
      if (rule.method === '*') n.anyMethod = true;
    }
    return undefined;
  }

  lookup(method: string, path: string, stats?: MatchStats): RouteMatch | null {
    const segments = splitPath(path);
    if (segments === null) return null;
    const values: string[] = [];
    const entry = this.walk(this.root, path, segments, 1, method, values, stats);
    if (entry === undefined) return null;
    const params = new Params();
    const names = entry.paramNames;
    for (let k = 0; k < names.length; k++) params[names[k] as string] = values[k] ?? '';
    return { rule: entry.rule, params };
  }

  private walk(
    node: TrieNode,
    path: string,
    segments: readonly string[],
    i: number,
    method: string,
    values: string[],
    stats: MatchStats | undefined,
  ): Entry | undefined {
    if (stats !== undefined) stats.visited++;
    if (!reachable(node, method)) return undefined;
    const segment = segments[i];
    if (segment === undefined) return node.end === undefined ? undefined : pick(node.end, method);

    const literal = node.literals.get(segment);
    if (literal !== undefined) {
      const found = this.walk(literal, path, segments, i + 1, method, values, stats);
      if (found !== undefined) return found;
    }
    if (node.param !== undefined) {
      values.push(segment);
      const found = this.walk(node.param, path, segments, i + 1, method, values, stats);
      if (found !== undefined) return found;
      values.pop();
    }
    if (node.catchAll !== undefined) {
      const found = pick(node.catchAll, method);
      if (found !== undefined) {
        // The rest of the path from segment i: the segments joined by `/`, without the copy.
        let offset = 0;
        for (let k = 1; k < i; k++) offset += (segments[k] as string).length + 1;
        values.push(path.slice(offset + 1));
        return found;
      }
    }
    return undefined;
  }
}
