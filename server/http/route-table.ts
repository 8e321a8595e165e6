/**
 * The spec's path templates as one matcher, built once: a tree of path segments walked once per
 * request. It replaces a list of regular expressions tried in turn (express-openapi-validator
 * compiled `pathToRegexp` for every route of the spec on every request).
 *
 * Matching follows express's defaults, so the validator and the routers agree on what a path is:
 * case-insensitive, one optional trailing slash, a parameter is one non-empty segment, and a
 * static segment beats a parameter at the same position (`/directory-quotas/discover` before
 * `/directory-quotas/{quotaId}`), falling back to the parameter when the static branch leads
 * nowhere.
 */

/** A template's place in the table, and what the caller attached to it. */
export interface RouteEntry<T> {
  /** The OpenAPI path template, e.g. `/v1/volumes/{volumeId}`. */
  template: string;
  value: T;
}

/** A match: the entry and its path parameters, still percent-encoded as they came. */
export interface RouteMatch<T> {
  entry: RouteEntry<T>;
  rawParams: Record<string, string>;
}

/** A segment mixing text and parameters (`{name}.json`), matched by its own expression. */
interface PatternChild<T> {
  re: RegExp;
  names: string[];
  node: Node<T>;
}

interface Node<T> {
  statics: Map<string, Node<T>>;
  patterns: PatternChild<T>[];
  /** Whole-segment parameters; more than one only when templates name a position differently. */
  params: { name: string; node: Node<T> }[];
  entry?: RouteEntry<T>;
}

const newNode = <T>(): Node<T> => ({ statics: new Map(), patterns: [], params: [] });
const WHOLE_PARAM = /^\{([^{}]+)\}$/;
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The segments of a path, without the leading slash and one optional trailing slash. */
function segmentsOf(path: string): string[] | undefined {
  if (!path.startsWith('/')) return undefined;
  const body = path.length > 1 && path.endsWith('/') ? path.slice(1, -1) : path.slice(1);
  return body.split('/');
}

/** Path templates compiled into one segment tree. */
export class RouteTable<T> {
  private readonly root = newNode<T>();

  constructor(entries: RouteEntry<T>[]) {
    for (const entry of entries) this.add(entry);
  }

  /** The entry whose template matches `path` (static segments first), or undefined. */
  match(path: string): RouteMatch<T> | undefined {
    const segments = segmentsOf(path);
    if (!segments) return undefined;
    const rawParams: Record<string, string> = {};
    const entry = this.walk(this.root, segments, 0, rawParams);
    return entry ? { entry, rawParams } : undefined;
  }

  private add(entry: RouteEntry<T>): void {
    let node = this.root;
    for (const segment of segmentsOf(entry.template) ?? []) node = this.child(node, segment);
    // Templates differing only in case match the same requests; the first one listed wins.
    node.entry ??= entry;
  }

  private child(node: Node<T>, segment: string): Node<T> {
    const whole = WHOLE_PARAM.exec(segment);
    if (whole) {
      let param = node.params.find((p) => p.name === whole[1]);
      if (!param) node.params.push((param = { name: whole[1]!, node: newNode() }));
      return param.node;
    }
    if (segment.includes('{')) {
      const names: string[] = [];
      const source = segment.split(/(\{[^{}]+\})/).map((part) => {
        const m = WHOLE_PARAM.exec(part);
        if (!m) return escapeRe(part);
        names.push(m[1]!);
        return '([^/]+?)';
      });
      const re = new RegExp(`^${source.join('')}$`, 'i');
      let pattern = node.patterns.find((p) => p.re.source === re.source);
      if (!pattern) node.patterns.push((pattern = { re, names, node: newNode() }));
      return pattern.node;
    }
    const key = segment.toLowerCase();
    let next = node.statics.get(key);
    if (!next) node.statics.set(key, (next = newNode()));
    return next;
  }

  /** Depth-first, most specific branch first; parameters found on a dead branch are undone. */
  private walk(node: Node<T>, segments: string[], i: number, params: Record<string, string>): RouteEntry<T> | undefined {
    if (i === segments.length) return node.entry;
    const segment = segments[i]!;
    const exact = node.statics.get(segment.toLowerCase());
    const found = exact && this.walk(exact, segments, i + 1, params);
    if (found) return found;
    if (segment === '') return undefined;
    for (const p of node.patterns) {
      const m = p.re.exec(segment);
      if (!m) continue;
      p.names.forEach((name, k) => (params[name] = m[k + 1]!));
      const hit = this.walk(p.node, segments, i + 1, params);
      if (hit) return hit;
      for (const name of p.names) delete params[name];
    }
    for (const p of node.params) {
      params[p.name] = segment;
      const hit = this.walk(p.node, segments, i + 1, params);
      if (hit) return hit;
      delete params[p.name];
    }
    return undefined;
  }
}
