/**
 * RFC 9110 §7.6.1: a proxy removes every field the `Connection` header names, whatever it is.
 * Adds the lower-cased options of one `Connection` value to `options`, skipping those in
 * `alreadyDropped` (removed anyway), so the usual `Connection: keep-alive` costs no second pass.
 */
export function addConnectionOptions(
  options: Set<string> | null,
  value: string,
  alreadyDropped?: ReadonlySet<string>,
): Set<string> | null {
  let set = options;
  // Scanned in place rather than split: runs on every response (`Connection: keep-alive`).
  for (let start = 0; start <= value.length; ) {
    let end = value.indexOf(',', start);
    if (end < 0) end = value.length;
    const option = value.slice(start, end).trim().toLowerCase();
    start = end + 1;
    if (option === '' || alreadyDropped?.has(option)) continue;
    set ??= new Set<string>();
    set.add(option);
  }
  return set;
}

/** A flat `[name, value, ...]` list without the pairs whose (lower-cased) name is in `names`. */
export function withoutNamed(flat: readonly string[], names: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i] as string;
    if (!names.has(name.toLowerCase())) out.push(name, flat[i + 1] as string);
  }
  return out;
}
