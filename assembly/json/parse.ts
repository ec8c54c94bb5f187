// Strict RFC 8259 JSON parser over UTF-8 bytes.
//
// - Never traps: every problem becomes a JsonParseResult with ok = false, a
//   short English reason and the byte offset.
// - Iterative: open containers live on explicit stacks, so nesting depth is
//   limited by `maxDepth`, not by the call stack.
// - Lazy: the parser only records a tape of nodes (see JsonDoc) holding source
//   ranges; JsonValue objects, decoded strings and numbers are made on access.

import { JsonValue } from "./value";
import { JsonDoc, wrapNode, TAPE_MAX } from "./tape";
import { byteAt, stringToUtf8 } from "./utf8";
import { makeHeadroom } from "./bytes";
import { Failure, Parser, MAX_NODES, skipSpace } from "./parser";
import { JsonPath } from "./path";

export { JsonPath } from "./path";
export { MAX_NODES } from "./parser";

export class JsonParseResult {
  /** True when a value was parsed. */
  ok: bool = false;
  /** The value when ok. */
  value: JsonValue | null = null;
  /** Why parsing failed, e.g. "unexpected byte 0x7d at offset 12"; "" when ok. */
  error: string = "";
  /** Byte offset of the failure; 0 when ok. */
  offset: i32 = 0;
  /** Byte offset just past the parsed value (when ok). */
  end: i32 = 0;
  /** Values in the document (when ok): the size of its tape, in words. */
  nodes: i32 = 0;
}

/** Runs the parser on [start, limit) of `src`; with `whole`, only whitespace may follow the value. */
function runParser(parser: Parser, start: i32, whole: bool): i32 {
  let len = parser.len;
  if (start < 0 || start > len) return parser.fail(Failure.BadStart, start);
  let end = parser.parseValue(start);
  if (end >= 0 && whole) {
    let rest = skipSpace(parser.base, end, len);
    if (rest < len) end = parser.fail(Failure.TrailingData, rest);
  }
  return end;
}

function failed(parser: Parser): JsonParseResult {
  let result = new JsonParseResult();
  result.ok = false;
  result.error = parser.message();
  result.offset = parser.failurePos;
  result.end = parser.failurePos;
  return result;
}

/**
 * Parses from `start`; with `whole`, only whitespace may follow the value.
 * Building takes two passes: the first validates and counts the nodes, the
 * second records them into a tape of exactly that size.
 */
function run(src: Uint8Array, start: i32, maxDepth: i32, build: bool, whole: bool): JsonParseResult {
  let counter = new Parser(src, maxDepth, false);
  let end = runParser(counter, start, whole);
  if (end < 0) return failed(counter);
  let result = new JsonParseResult();
  result.ok = true;
  result.end = end;
  result.nodes = counter.nodes;
  if (!build) return result;
  if (src.length > TAPE_MAX || counter.nodes > MAX_NODES) {
    counter.fail(Failure.TooLarge, start);
    return failed(counter);
  }
  result.value = buildTape(src, start, maxDepth, whole, counter.nodes);
  return result;
}

/** The second pass: records the value at `start` of valid text into a tape of `nodes` words. */
function buildTape(src: Uint8Array, start: i32, maxDepth: i32, whole: bool, nodes: i32): JsonValue {
  makeHeadroom(nodes << 2);
  let parser = new Parser(src, maxDepth, true, new StaticArray<i32>(nodes));
  runParser(parser, start, whole);
  return wrapNode(new JsonDoc(src, parser.tape), 0);
}

/**
 * Parses the value at `start` of `src` (plus whitespace to `end`), already
 * validated by countJsonRange or validatePrefix, which found `nodes` values:
 * only the building pass runs. Null when the text is too large to index.
 */
export function parseCounted(src: Uint8Array, start: i32, nodes: i32): JsonValue | null {
  if (src.length > TAPE_MAX || nodes > MAX_NODES || nodes < 1) return null;
  return buildTape(src, start, 512, false, nodes);
}

/** Offset where the value in [start, end) starts: 3 past a leading UTF-8 byte order mark, else `start`. */
export function afterBom(src: Uint8Array, start: i32 = 0, end: i32 = src.length): i32 {
  if (end - start >= 3) {
    let p = src.dataStart + <usize>start;
    if (byteAt(p) == 0xef && byteAt(p + 1) == 0xbb && byteAt(p + 2) == 0xbf) return start + 3;
  }
  return start;
}

/** Parses `src`, which must hold exactly one JSON value (plus whitespace; a leading BOM is skipped). */
export function parseJson(src: Uint8Array, maxDepth: i32 = 512): JsonParseResult {
  return run(src, afterBom(src), maxDepth, true, true);
}

/** parseJson on the UTF-8 encoding of `s` (offsets in errors are UTF-8 byte offsets). */
export function parseJsonString(s: string, maxDepth: i32 = 512): JsonParseResult {
  return parseJson(stringToUtf8(s), maxDepth);
}

/**
 * Parses one value starting at `start` (after optional whitespace); bytes after
 * it are allowed. result.end is the offset just past the value.
 */
export function parseJsonPrefix(src: Uint8Array, start: i32, maxDepth: i32 = 512): JsonParseResult {
  return run(src, start, maxDepth, true, false);
}

/**
 * True when bytes [start, end) of `src` are exactly one valid JSON value (plus
 * whitespace; a leading BOM is skipped), as parseJson(src.subarray(start, end))
 * would find, without copying or building anything.
 */
export function isValidJsonRange(src: Uint8Array, start: i32, end: i32): bool {
  return countJsonRange(src, start, end) >= 0;
}

/** isValidJsonRange, returning the number of values in the range (-1 when it is not one valid value). */
export function countJsonRange(src: Uint8Array, start: i32, end: i32): i32 {
  if (start < 0 || end > src.length || start > end) return -1;
  let parser = new Parser(src, 512, false);
  parser.len = end;
  return runParser(parser, afterBom(src, start, end), true) >= 0 ? parser.nodes : -1;
}

/** parseJsonPrefix without building: ok, end, or the error and its offset. */
export function validatePrefix(src: Uint8Array, start: i32, maxDepth: i32 = 512): JsonParseResult {
  return run(src, start, maxDepth, false, false);
}

/** True when `src` is exactly one valid JSON value (builds no values). */
export function isValidJson(src: Uint8Array): bool {
  return run(src, afterBom(src), 512, false, true).ok;
}

/**
 * Validates `src` as parseJson does (same errors), building nothing, and
 * records in `path` what lies along it. Memory does not depend on the
 * document's size: this is how a large document is read for one value.
 * result.value is always null.
 */
export function scanPath(src: Uint8Array, path: JsonPath, maxDepth: i32 = 512): JsonParseResult {
  return scanRange(src, afterBom(src), src.length, path, maxDepth, 0);
}

/**
 * scanPath over the bytes [start, end) of `src` (which must hold one value and
 * whitespace); offsets in `path` are offsets in `src`, offsets in an error
 * count from `start`.
 */
export function scanPathIn(
  src: Uint8Array,
  start: i32,
  end: i32,
  path: JsonPath,
  maxDepth: i32 = 512,
): JsonParseResult {
  return scanRange(src, start, end, path, maxDepth, start);
}

function scanRange(src: Uint8Array, start: i32, end: i32, path: JsonPath, maxDepth: i32, origin: i32): JsonParseResult {
  path.reset();
  let parser = new Parser(src, maxDepth, false);
  if (end < src.length && end >= start) parser.len = end;
  parser.origin = origin;
  parser.path = path;
  let stop = runParser(parser, start, true);
  if (stop < 0) {
    let r = failed(parser);
    r.offset -= origin;
    r.end -= origin;
    return r;
  }
  let result = new JsonParseResult();
  result.ok = true;
  result.end = stop;
  return result;
}

/**
 * Parses the value in [start, end) of `src` (one value and whitespace) into a
 * tape of its own, reusing `reader`'s buffers between calls: for many small
 * documents (stream events) without an allocation per document. The value is
 * valid until the next call with the same reader. Offsets in an error count
 * from `start`.
 */
export class JsonReader {
  private parser: Parser | null = null;
  doc: JsonDoc | null = null;
  error: string = "";

  /** The document's tape (root node 0), or null with `error` set. */
  read(src: Uint8Array, start: i32, end: i32, maxDepth: i32 = 512): JsonDoc | null {
    let parser = this.parser;
    if (parser === null) {
      parser = new Parser(src, maxDepth, true, new StaticArray<i32>(64));
      this.parser = parser;
    } else {
      parser.reset(src, maxDepth);
    }
    if (end < src.length && end >= start) parser.len = end;
    parser.origin = start;
    if (parser.len - start > TAPE_MAX) {
      parser.fail(Failure.TooLarge, start);
      this.error = parser.message();
      return null;
    }
    let stop = runParser(parser, start, true);
    if (stop < 0) {
      this.error = parser.message();
      return null;
    }
    let doc = this.doc;
    if (doc === null || doc.src !== src) {
      doc = new JsonDoc(src, parser.tape);
      this.doc = doc;
    } else {
      doc.tape = parser.tape;
    }
    return doc;
  }
}
