// uniqueItems: the first pair of equal items, found in one pass with a hash
// table of 4-byte entries over a parsed array's tape.

import { JsonDoc, JsonValue, equalNodes, hashNode, hashValue, jsonEquals } from "../json";
import { Context } from "./sink";

/** A table of at most this many bytes is always sized for every item at once. */
const SMALL_TABLE_BYTES: i64 = 256 << 10;
/** Room a table sized at once may take beyond the answer's size, less its tape (see sizedAtOnce). */
const TABLE_SLACK_BYTES: i64 = 1 << 20;
/** The first table of an array not sized at once: entries for 16,384 items. */
const FIRST_ITEMS: i32 = 16384;

/** Entries for `n` distinct items, the table then at most 7/8 full. */
// @ts-ignore: decorator
@inline function entriesFor(n: i64): i64 {
  return n + n / 7 + 16;
}

/** The slot of a hash in a table of `cap` entries (any size): the top of h's low 32 bits scaled. */
// @ts-ignore: decorator
@inline function slotOf(h: u64, cap: i32): i32 {
  return <i32>(((h & 0xffffffff) * <u64>cap) >> 32);
}

/**
 * Whether a table of `entries` entries for an array of `doc` is made at once:
 * when it is small, or when it, the tape and the answer's text together stay
 * within twice the text plus 1 MiB (so an array whose items are few bytes
 * each, such as `[0,0,…]`, whose tape already takes twice its text, starts
 * small: a pair found early then costs no large table).
 */
function sizedAtOnce(doc: JsonDoc, entries: i64): bool {
  let bytes = entries << 2;
  if (bytes <= SMALL_TABLE_BYTES) return true;
  return bytes + ((<i64>doc.tape.length) << 2) <= <i64>doc.src.length + TABLE_SLACK_BYTES;
}

/**
 * The first pair of equal items as (i << 32 | j): the smallest i that has an
 * equal item after it, and the first such j; -1 when all differ. One pass in
 * order: each item is hashed (whole, at every depth) and looked up among the
 * earlier distinct items, which are compared for real when their hash tags
 * match. Hashing and comparing charge `ctx`. Memory: a table of 4-byte
 * entries (an item's tape node and as many bits of its hash as the tape's
 * size leaves), sized for every item at once when sizedAtOnce allows it (at
 * most 7/8 full), else started small and grown as distinct items arrive
 * (kept at most 3/4 full; straight to the size every item still needs once
 * that is at most four times the size; each growth hashes the items in the
 * table again, charged as the first time).
 */
export function findDuplicate(v: JsonValue, len: i32, ctx: Context): i64 {
  v.loadDoc();
  let doc = v._doc;
  if (doc === null) return findDuplicateBuilt(v, len, ctx);
  let first = v._node + 1;
  let end = doc.endOf(v._node);
  // Entries: the low `nodeBits` bits hold a tape node + 1 (0 = empty), the others the top bits of its hash.
  let nodeBits = 32 - clz<u32>(<u32>doc.tape.length);
  let nodeMask: u32 = nodeBits >= 32 ? 0xffffffff : ((<u32>1) << nodeBits) - 1;
  let tagShift = <u64>(32 + nodeBits);
  let all = entriesFor(len);
  let growing = !sizedAtOnce(doc, all);
  let cap = <i32>(growing ? entriesFor(FIRST_ITEMS) : all);
  let table = new StaticArray<u32>(cap);
  let used = 0;
  let bestI = -1; // tape nodes of the pair
  let bestJ = -1;
  let node = first;
  let j = 0;
  while (node < end) {
    let h = hashNode(doc, node, ctx);
    if (ctx.exhausted) return -1;
    let tag = nodeBits >= 32 ? 0 : (<u32>(h >> tagShift)) << nodeBits;
    let slot = slotOf(h, cap);
    let isNew = true;
    while (true) {
      let e = unchecked(table[slot]);
      if (e == 0) break;
      if ((e & ~nodeMask) == tag) {
        let earlier = <i32>(e & nodeMask) - 1;
        if (equalNodes(doc, earlier, doc, node, ctx)) {
          isNew = false;
          if (bestI < 0 || earlier < bestI) {
            bestI = earlier;
            bestJ = node;
          }
          break;
        }
        if (ctx.exhausted) return -1;
      }
      slot = slot + 1 == cap ? 0 : slot + 1;
    }
    if (bestI == first) break; // no pair can come first
    j++;
    if (isNew) {
      unchecked((table[slot] = tag | (<u32>(node + 1))));
      used++;
      if (growing && <i64>used * 4 > <i64>cap * 3) {
        // Distinct items there can be at most: those so far and the items left.
        let enough = entriesFor(<i64>used + <i64>(len - j));
        if (enough > <i64>cap) {
          let next = enough <= <i64>cap * 4 ? enough : <i64>cap * 2;
          table = regrow(doc, table, <i32>next, nodeMask, ctx);
          if (ctx.exhausted) return -1;
          cap = <i32>next;
        }
      }
    }
    node = doc.next(node);
  }
  if (bestI < 0) return -1;
  // Nodes to indexes: one walk.
  let i = -1;
  let jj = -1;
  let k = 0;
  node = first;
  while (node < end && jj < 0) {
    if (node == bestI) i = k;
    if (node == bestJ) jj = k;
    node = doc.next(node);
    k++;
  }
  return ((<i64>i) << 32) | (<i64>jj);
}

/** The table re-made with `cap` entries, each item in it hashed again (charging `ctx`). */
function regrow(doc: JsonDoc, table: StaticArray<u32>, cap: i32, nodeMask: u32, ctx: Context): StaticArray<u32> {
  let grown = new StaticArray<u32>(cap);
  for (let k = 0; k < table.length; k++) {
    let e = unchecked(table[k]);
    if (e == 0) continue;
    let h = hashNode(doc, <i32>(e & nodeMask) - 1, ctx);
    if (ctx.exhausted) return grown;
    let at = slotOf(h, cap);
    while (unchecked(grown[at]) != 0) at = at + 1 == cap ? 0 : at + 1;
    unchecked((grown[at] = e));
  }
  return grown;
}
/** findDuplicate for a built array (values by index): pairwise with hashes, as small as such arrays are. */
function findDuplicateBuilt(v: JsonValue, len: i32, ctx: Context): i64 {
  let hashes = new StaticArray<u64>(len);
  for (let j = 0; j < len; j++) {
    let item = v.at(j);
    unchecked((hashes[j] = item !== null ? hashValue(item, ctx) : 0));
    if (ctx.exhausted) return -1;
  }
  for (let i = 0; i < len; i++) {
    if (!ctx.charge(<i64>((len - i) >> 4))) return -1;
    for (let j = i + 1; j < len; j++) {
      if (unchecked(hashes[i]) != unchecked(hashes[j])) continue;
      let a = v.at(i);
      let b = v.at(j);
      if (a !== null && b !== null && jsonEquals(a, b, ctx)) return ((<i64>i) << 32) | (<i64>j);
      if (ctx.exhausted) return -1;
    }
  }
  return -1;
}
