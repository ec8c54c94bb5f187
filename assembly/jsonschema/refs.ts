// `$ref`s of a schema being compiled: resolving a reference (a JSON pointer
// into the same document, compiling its target if needed) and rejecting
// reference loops that never descend into the instance.

import { JsonValue } from "../json";
import { SchemaNode } from "./node";
import { arrayIndex, escapeToken, percentDecode, unescapeToken } from "./pointer";
import { quote } from "./text";
import { Compiler } from "./compile";

/** Finds (compiling if needed) the target of `n.refText`. */
export function resolveRef(c: Compiler, n: SchemaNode): SchemaNode | null {
  let ref = n.refText;
  let fragment: string;
  let hash = ref.indexOf("#");
  if (hash == 0) {
    fragment = ref.substring(1);
  } else {
    let uri = hash < 0 ? ref : ref.substring(0, hash);
    if (c.base.length == 0 || uri != c.base) {
      c.fail(
        "unsupported $ref " +
          quote(ref) +
          " at " +
          n.pointer +
          ' (only references into this schema, "#/...", are supported)',
      );
      return null;
    }
    fragment = hash < 0 ? "" : ref.substring(hash + 1);
  }
  let decoded = percentDecode(fragment);
  if (decoded === null) {
    c.fail("$ref " + quote(ref) + " is not a valid JSON pointer at " + n.pointer);
    return null;
  }
  if (decoded.length > 0 && decoded.charCodeAt(0) != 0x2f) {
    c.fail(
      "unsupported $ref " + quote(ref) + " at " + n.pointer + ' (only JSON-pointer references "#/..." are supported)',
    );
    return null;
  }
  // Walk the document, building the canonical pointer on the way.
  let cur: JsonValue = c.root;
  let canon = "#";
  if (decoded.length > 0) {
    let tokens = decoded.substring(1).split("/");
    for (let i = 0; i < tokens.length; i++) {
      let tok = unescapeToken(tokens[i]);
      if (tok === null) {
        c.fail("$ref " + quote(ref) + " is not a valid JSON pointer at " + n.pointer);
        return null;
      }
      let next: JsonValue | null = null;
      if (cur.isObject()) {
        next = cur.get(tok);
      } else if (cur.isArray()) {
        let idx = arrayIndex(tok);
        if (idx >= 0 && idx < cur.length) next = cur.at(idx);
      }
      if (next === null) {
        c.fail("$ref " + quote(ref) + " not found at " + n.pointer);
        return null;
      }
      cur = next;
      canon += "/" + escapeToken(tok);
    }
  }
  if (c.nodes.has(canon)) return c.nodes.get(canon);
  return c.sub(cur, canon, 0);
}

/** Rejects cycles of $ref/allOf/anyOf/oneOf/not/if/then/else/dependencies that never descend into the instance. */
export function checkLoops(c: Compiler): bool {
  let stack = new Array<SchemaNode>();
  let pos = new Array<i32>();
  for (let s = 0; s < c.all.length; s++) {
    let start = c.all[s];
    if (start.mark != 0) continue;
    start.mark = 1;
    stack.push(start);
    pos.push(0);
    while (stack.length > 0) {
      let top = stack[stack.length - 1];
      let i = pos[pos.length - 1];
      if (i < top.direct.length) {
        pos[pos.length - 1] = i + 1;
        let next = top.direct[i];
        if (next.mark == 1) {
          if (next === top) {
            c.fail(
              "$ref loop at " + top.pointer + ": the schema refers to itself without descending into the instance",
            );
          } else {
            c.fail(
              "$ref loop at " +
                next.pointer +
                ": it leads back to itself (via " +
                top.pointer +
                ") without descending into the instance",
            );
          }
          return false;
        }
        if (next.mark == 0) {
          next.mark = 1;
          stack.push(next);
          pos.push(0);
        }
      } else {
        top.mark = 2;
        stack.pop();
        pos.pop();
      }
    }
  }
  return true;
}
