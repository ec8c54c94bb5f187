// `output: openai`: the upstream completion with `choices[0].message.content`
// set to the JSON text and `usage` including the JSON-mode call's tokens,
// written in pieces to a sink (the response body, sent on as it is written):
// the output never exists whole in the module's memory. Members of the
// completion are copied from its text (compacted, long runs as views of it);
// the completion is parsed only when an object on the way to the content
// repeats a name or spells one with escapes.

import {
  ByteSink,
  CollectingSink,
  JsonValue,
  JsonWriter,
  SourceMembers,
  objectNamesPlain,
  skipSpaces,
  skipValue,
  sourceValue,
} from "../json";

const USAGE_COUNTS: string[] = ["prompt_tokens", "completion_tokens", "total_tokens"];

/** Bytes a writer sending an output holds before handing them to the sink. */
const WRITER_BYTES: i32 = 65536;

/**
 * The numeric fields of the JSON-mode answer's `usage` object (its token
 * counts), and nothing else: the client never sees what else the JSON-mode
 * provider put there. null when there is no such object.
 */
export function writeNumericUsage(w: JsonWriter, usage: JsonValue | null): void {
  if (usage === null || !usage.isObject()) {
    w.null();
    return;
  }
  w.beginObject();
  const keys = usage.keys();
  for (let i = 0; i < keys.length; i++) {
    const v = usage.get(keys[i])!;
    if (!v.isNumber()) continue;
    w.key(keys[i]);
    w.value(v);
  }
  w.endObject();
}

/**
 * `usage` with the JSON-mode call's token counts added to the upstream's.
 * Without an upstream `usage` object, only the numeric fields of the call's.
 */
export function writeUsage(w: JsonWriter, upstream: JsonValue | null, extra: JsonValue | null): void {
  if (upstream === null || !upstream.isObject()) {
    writeNumericUsage(w, extra);
    return;
  }
  w.beginObject();
  const keys = upstream.keys();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = upstream.get(k)!;
    w.key(k);
    if (USAGE_COUNTS.includes(k) && v.isNumber() && extra !== null && extra.isObject()) {
      const e = extra.get(k);
      if (e !== null && e.isNumber()) {
        w.number(v.asNumber() + e.asNumber());
        continue;
      }
    }
    w.value(v);
  }
  w.endObject();
}

/** writeOpenAIOutput into one buffer. */
export function buildOpenAIOutput(completion: JsonValue, json: Uint8Array, extraUsage: JsonValue | null): Uint8Array {
  const out = new CollectingSink();
  writeOpenAIOutput(completion, json, extraUsage, out);
  return out.bytes.takeBytes();
}

/**
 * `output: openai` written to `sink`. A completion still in text form
 * (readCompletionContent) is rewritten from its text, without being parsed,
 * unless an object on the way to the content repeats a name or spells one
 * with escapes. False when the sink refused part of it.
 */
export function writeOpenAIOutput(
  completion: JsonValue,
  json: Uint8Array,
  extraUsage: JsonValue | null,
  sink: ByteSink,
): bool {
  const w = new JsonWriter(WRITER_BYTES).sendTo(sink);
  if (!completion.isUnparsed() || !rewriteCompletion(w, completion, json, extraUsage)) {
    writeParsed(w, completion, json, extraUsage);
  }
  return w.flush();
}

/** The output from a parsed completion (names repeated or escaped on the way to the content). */
function writeParsed(w: JsonWriter, completion: JsonValue, json: Uint8Array, extraUsage: JsonValue | null): void {
  w.beginObject();
  const keys = completion.keys();
  let sawUsage = false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    const v = completion.get(k)!;
    w.key(k);
    if (k == "choices") {
      writeChoices(w, v, json);
    } else if (k == "usage") {
      sawUsage = true;
      writeUsage(w, v, extraUsage);
    } else {
      w.value(v);
    }
  }
  if (!sawUsage && extraUsage !== null && extraUsage.isObject()) {
    w.key("usage");
    writeNumericUsage(w, extraUsage);
  }
  w.endObject();
}

/**
 * The output written member by member from the completion's text; false
 * (nothing written) when the completion, its first choice or that choice's
 * message repeats a name or spells one with escapes.
 */
function rewriteCompletion(w: JsonWriter, completion: JsonValue, json: Uint8Array, extraUsage: JsonValue | null): bool {
  const src = completion._src!;
  const start = completion._start;
  if (!objectNamesPlain(src, start)) return false;
  // Find the first choice and its message, and check their names too.
  let choicesAt = -1;
  const top = new SourceMembers(src, start);
  while (top.next()) {
    if (top.nameIs("choices")) choicesAt = top.valueStart;
  }
  if (choicesAt < 0) return false;
  const firstAt = skipSpaces(src, choicesAt + 1, src.length);
  if (!objectNamesPlain(src, firstAt)) return false;
  let messageAt = -1;
  const fields = new SourceMembers(src, firstAt);
  while (fields.next()) {
    if (fields.nameIs("message")) messageAt = fields.valueStart;
  }
  if (messageAt < 0 || !objectNamesPlain(src, messageAt)) return false;

  w.beginObject();
  let sawUsage = false;
  const m = new SourceMembers(src, start);
  while (m.next()) {
    w.keyFromSource(src, m.nameStart, m.nameEnd);
    if (m.nameIs("choices")) {
      // The first choice is rewritten, the others copied.
      w.beginArray();
      let pos = skipSpaces(src, m.valueStart + 1, m.valueEnd);
      let i = 0;
      while (pos < m.valueEnd - 1) {
        const end = skipValue(src, pos);
        if (i == 0) writeFirstChoice(w, src, pos, json);
        else copyValue(w, src, pos, end);
        i++;
        pos = skipSpaces(src, end, m.valueEnd);
        if (pos < m.valueEnd && src[pos] == 0x2c) pos = skipSpaces(src, pos + 1, m.valueEnd);
        else break;
      }
      w.endArray();
    } else if (m.nameIs("usage")) {
      sawUsage = true;
      writeUsage(w, sourceValue(src, m.valueStart, m.valueEnd), extraUsage);
    } else {
      copyValue(w, src, m.valueStart, m.valueEnd);
    }
  }
  if (!sawUsage && extraUsage !== null && extraUsage.isObject()) {
    w.key("usage");
    writeNumericUsage(w, extraUsage);
  }
  w.endObject();
  return true;
}

/** A value of the completion's text, compacted (long runs sent as they are); parsed only when it repeats a name. */
function copyValue(w: JsonWriter, src: Uint8Array, start: i32, end: i32): void {
  w.value(sourceValue(src, start, end));
}

/** The first choice (an object whose names are plain, at `at`) with its message's content replaced. */
function writeFirstChoice(w: JsonWriter, src: Uint8Array, at: i32, json: Uint8Array): void {
  w.beginObject();
  const c = new SourceMembers(src, at);
  while (c.next()) {
    w.keyFromSource(src, c.nameStart, c.nameEnd);
    if (!c.nameIs("message")) {
      copyValue(w, src, c.valueStart, c.valueEnd);
      continue;
    }
    w.beginObject();
    const msg = new SourceMembers(src, c.valueStart);
    while (msg.next()) {
      w.keyFromSource(src, msg.nameStart, msg.nameEnd);
      if (msg.nameIs("content")) w.stringFromUtf8(json);
      else copyValue(w, src, msg.valueStart, msg.valueEnd);
    }
    w.endObject();
  }
  w.endObject();
}

function writeChoices(w: JsonWriter, choices: JsonValue, json: Uint8Array): void {
  w.beginArray();
  for (let i = 0; i < choices.length; i++) {
    const c = choices.at(i)!;
    if (i != 0) {
      w.value(c);
      continue;
    }
    w.beginObject();
    const keys = c.keys();
    for (let j = 0; j < keys.length; j++) {
      const k = keys[j];
      w.key(k);
      if (k != "message") {
        w.value(c.get(k)!);
        continue;
      }
      const m = c.get(k)!;
      w.beginObject();
      const mk = m.keys();
      for (let n = 0; n < mk.length; n++) {
        w.key(mk[n]);
        if (mk[n] == "content") w.stringFromUtf8(json);
        else w.value(m.get(mk[n])!);
      }
      w.endObject();
    }
    w.endObject();
  }
  w.endArray();
}
