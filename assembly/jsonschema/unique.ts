// uniqueItems: the first pair of equal items, found in one pass with a hash
// table of 4-byte entries over a parsed array's tape.

import { JsonDoc, JsonValue, equalNodes, hashNode, hashValue, jsonEquals } from "../json";
import { Context } from "./sink";

/** Table entries: the low 27 bits hold a tape node + 1 (0 = empty), the top 5 bits part of its hash. */
const ENTRY_NODE_BITS: u32 = 27;
const ENTRY_NODE_MASK: u32 = (1 << ENTRY_NODE_BITS) - 1;

/** The slot of a hash in a table of `cap` entries (any size): the top of h's low 32 bits scaled. */
// @ts-ignore: decorator
@inline function slotOf(h: u64, cap: i32): i32 {
  return <i32>(((h & 0xffffffff) * <u64>cap) >> 32);
}

/**
 * The first pair of equal items as (i << 32 | j): the smallest i that has an
 * equal item after it, and the first such j; -1 when all differ. One pass in
 * order: each item is hashed (whole, at every depth) and looked up among the
 * earlier distinct items, which are compared for real when their hash tags
 * match. Hashing and comparing charge `ctx`. Memory: a table of 4-byte
 * entries (an item's tape node and 5 bits of its hash), kept at most 3/4
 * full while it grows; a growth never asks for more entries than the
 * distinct items there can still be call for (at most 7/8 full then).
 */
export function findDuplicate(v: JsonValue, len: i32, ctx: Context): i64 {
  v.loadDoc();
  let doc = v._doc;
  if (doc === null) return findDuplicateBuilt(v, len, ctx);
  let first = v._node + 1;
  let end = doc.endOf(v._node);
  // Sized for the items of an array of up to 16,384 items; larger ones grow it as distinct items arrive.
  let small = len < 16384 ? len : 16384;
  let cap = small + small / 3 + 16;
  let table = new StaticArray<u32>(cap);
  let used = 0;
  let bestI = -1; // tape nodes of the pair
  let bestJ = -1;
  let node = first;
  let j = 0;
  while (node < end) {
    let h = hashNode(doc, node, ctx);
    if (ctx.exhausted) return -1;
    let tag = <u32>(h >> 59);
    let slot = slotOf(h, cap);
    let isNew = true;
    while (true) {
      let e = unchecked(table[slot]);
      if (e == 0) break;
      if (e >> ENTRY_NODE_BITS == tag) {
        let earlier = <i32>(e & ENTRY_NODE_MASK) - 1;
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
      unchecked((table[slot] = (tag << ENTRY_NODE_BITS) | (<u32>(node + 1))));
      used++;
      // Distinct items there can be at most: those so far and the items left.
      let most = <i64>used + <i64>(len - j);
      if (<i64>used * 4 > <i64>cap * 3 && <i64>cap * 7 < most * 8) {
        let grown = <i64>cap * 2;
        let enough = (most * 8) / 7 + 1;
        let next = <i32>(grown < enough ? grown : enough);
        table = regrow(doc, table, next);
        cap = next;
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

/**
 * The table re-made with `cap` entries. Each item in it is hashed again
 * (an entry keeps only 5 bits of its hash), uncharged: all the growths
 * together hash each distinct item at most about twice more than the
 * charged first time.
 */
function regrow(doc: JsonDoc, table: StaticArray<u32>, cap: i32): StaticArray<u32> {
  let grown = new StaticArray<u32>(cap);
  for (let k = 0; k < table.length; k++) {
    let e = unchecked(table[k]);
    if (e == 0) continue;
    let at = slotOf(hashNode(doc, <i32>(e & ENTRY_NODE_MASK) - 1), cap);
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
