import type { OpenApiOperation } from './openapi-operations.js';

/** The parameter names an operation's path takes as a `{name+}` tail, or why none, for a note. */
export interface OperationTails {
  readonly names: string[];
  readonly note: string | undefined;
}

/**
 * The `{name+}` tails the document asks for: a last path parameter marked `x-multi-segment`
 * becomes one, unless another operation of the same method continues past it
 * (`GET .../commits/{ref}` and `GET .../commits/{ref}/status`): there a tail would also take
 * that operation's requests, and the gateway would check them as the wrong operation, so
 * the parameter stays one segment (a value holding "/" reaches no route: denied).
 */
export function multiSegmentTails(
  operations: readonly OpenApiOperation[],
): Map<OpenApiOperation, OperationTails> {
  const split = (path: string) => path.split('/').slice(1);
  const isParam = (segment: string) => segment.includes('{');
  const tails = new Map<OpenApiOperation, OperationTails>();
  for (const op of operations) {
    const segments = split(op.path);
    const last = segments[segments.length - 1] ?? '';
    const name = op.multiSegment.find((n) => last === `{${n}}`);
    if (name === undefined) continue;
    // A request of `other` can reach this tail when every earlier segment can match it.
    const overtaken = operations.find((other) => {
      const theirs = split(other.path);
      if (other === op || other.method !== op.method || theirs.length <= segments.length) return false;
      return segments.every((s, i) => isParam(s) || isParam(theirs[i] ?? '') || s === theirs[i]);
    });
    tails.set(
      op,
      overtaken === undefined
        ? { names: [name], note: undefined }
        : {
            names: [],
            note: `{${name}} is one segment: a {${name}+} tail would also take ${overtaken.method} ${overtaken.path}`,
          },
    );
  }
  return tails;
}
