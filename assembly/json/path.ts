// JsonPath: member names and array indexes looked for while a document is
// validated (scanPath), and what the parser found at each level.

import { stringToUtf8 } from "./utf8";
import { unescapeToUtf8 } from "./unescape";

/**
 * A path of member names and array indexes (e.g. choices, 0, message,
 * content) looked for while a document is validated (scanPath), and what was
 * found at each level: level 0 is the root, level i + 1 the value step i
 * leads to. As JsonValue.get does, the last member of a repeated name counts.
 */
export class JsonPath {
  /** Number of steps. */
  steps: i32;
  /** Per step: the array index, or -1 for a member name. */
  indexes: StaticArray<i32>;
  /** Per step: the member name as UTF-8 (empty for an index step). */
  names: StaticArray<Uint8Array>;
  /** Per level (steps + 1): the kind found (JsonKind), or -1 when nothing was found there. */
  kinds: StaticArray<i32>;
  /** Per level: offset of the value's first byte, and just past its last. */
  starts: StaticArray<i32>;
  ends: StaticArray<i32>;
  /** Per level: a String found there holds escapes. */
  escaped: StaticArray<bool>;

  /** `steps`: member names, or decimal indexes written as "#0", "#1"... */
  constructor(steps: string[]) {
    let n = steps.length;
    this.steps = n;
    this.indexes = new StaticArray<i32>(n);
    this.names = new StaticArray<Uint8Array>(n);
    this.kinds = new StaticArray<i32>(n + 1);
    this.starts = new StaticArray<i32>(n + 1);
    this.ends = new StaticArray<i32>(n + 1);
    this.escaped = new StaticArray<bool>(n + 1);
    for (let i = 0; i < n; i++) {
      let s = steps[i];
      if (s.startsWith("#")) {
        unchecked((this.indexes[i] = I32.parseInt(s.substring(1))));
        unchecked((this.names[i] = new Uint8Array(0)));
      } else {
        unchecked((this.indexes[i] = -1));
        unchecked((this.names[i] = stringToUtf8(s)));
      }
    }
    this.reset();
  }

  reset(): void {
    for (let i = 0; i <= this.steps; i++) {
      unchecked((this.kinds[i] = -1));
      unchecked((this.starts[i] = 0));
      unchecked((this.ends[i] = 0));
      unchecked((this.escaped[i] = false));
    }
  }

  /** The kind found at `level`, or -1. */
  kindAt(level: i32): i32 {
    return level >= 0 && level <= this.steps ? unchecked(this.kinds[level]) : -1;
  }

  /** Records the value starting at `pos` for `level`; forgets what deeper levels held. */
  found(level: i32, kind: i32, pos: i32): void {
    unchecked((this.kinds[level] = kind));
    unchecked((this.starts[level] = pos));
    unchecked((this.ends[level] = pos));
    unchecked((this.escaped[level] = false));
    for (let i = level + 1; i <= this.steps; i++) unchecked((this.kinds[i] = -1));
  }

  /** A scalar found at `level` ended at `end`. */
  ended(level: i32, start: i32, end: i32, escaped: bool): void {
    if (unchecked(this.starts[level]) != start) return;
    unchecked((this.ends[level] = end));
    unchecked((this.escaped[level] = escaped));
  }

  /** Whether the name [start, end) of `src` (holding escapes or not) is step `level`'s name. */
  nameIs(level: i32, src: Uint8Array, start: i32, end: i32, escaped: bool): bool {
    let want = unchecked(this.names[level]);
    if (escaped) {
      let decoded = unescapeToUtf8(src.dataStart + <usize>start, end - start);
      return (
        decoded.length == want.length && memory.compare(decoded.dataStart, want.dataStart, <usize>want.length) == 0
      );
    }
    return (
      end - start == want.length &&
      memory.compare(src.dataStart + <usize>start, want.dataStart, <usize>want.length) == 0
    );
  }
}
