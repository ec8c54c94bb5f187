import {
  JsonValue,
  JsonWriter,
  parseJson,
  parseJsonString,
  parseJsonPrefix,
  isValidJson,
  countJsonRange,
  stringifyJson,
  serializeJson,
  jsonNull,
  jsonBool,
  jsonNumber,
  jsonString,
  jsonArray,
  jsonObject,
  jsonEquals,
  hashValue,
  ByteBuilder,
  byteAt,
} from "../../assembly/json";

// --- helpers ----------------------------------------------------------------

/** UTF-8 bytes of a string (standard library encoder, independent of the code under test). */
function utf8(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

/** Bytes from a list of byte values. */
function bytesOf(list: i32[]): Uint8Array {
  let out = new Uint8Array(list.length);
  for (let i = 0; i < list.length; i++) out[i] = <u8>list[i];
  return out;
}

/** Bytes of `prefix`, then raw `middle` bytes, then `suffix`. */
function spliced(prefix: string, middle: i32[], suffix: string): Uint8Array {
  let a = utf8(prefix);
  let b = utf8(suffix);
  let out = new Uint8Array(a.length + middle.length + b.length);
  out.set(a, 0);
  for (let i = 0; i < middle.length; i++) out[a.length + i] = <u8>middle[i];
  out.set(b, a.length + middle.length);
  return out;
}

function parseOk(text: string): JsonValue {
  let r = parseJsonString(text);
  if (!r.ok) {
    log<string>("unexpected failure for " + text + ": " + r.error);
  }
  expect<bool>(r.ok).toBe(true);
  return r.value!;
}

/** The error of a parse that must fail. */
function parseError(src: Uint8Array): string {
  let r = parseJson(src);
  expect<bool>(r.ok).toBe(false);
  expect<JsonValue | null>(r.value).toBeNull();
  expect<bool>(isValidJson(src)).toBe(false);
  return r.error;
}

function errorOf(text: string): string {
  return parseError(utf8(text));
}

/** Compact text after parse -> writer. */
function reserialize(text: string): string {
  return stringifyJson(parseOk(text));
}

function codeUnits(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (i > 0) out += " ";
    out += s.charCodeAt(i).toString(16);
  }
  return out;
}

function hexBytes(b: Uint8Array): string {
  let out = "";
  for (let i = 0; i < b.length; i++) {
    if (i > 0) out += " ";
    let v = <i32>b[i];
    out += (v < 16 ? "0" : "") + v.toString(16);
  }
  return out;
}

function formatted(n: f64): string {
  return new JsonWriter().number(n).toString();
}

function numberOf(text: string): f64 {
  return parseOk(text).asNumber();
}

// --- kinds ------------------------------------------------------------------

describe("parseJson: kinds", () => {
  test("null, booleans", () => {
    expect<bool>(parseOk("null").isNull()).toBe(true);
    let t = parseOk("true");
    expect<bool>(t.isBool()).toBe(true);
    expect<bool>(t.asBool()).toBe(true);
    expect<bool>(parseOk("false").asBool()).toBe(false);
    expect<bool>(parseOk("false").isBool()).toBe(true);
    expect<bool>(parseOk("null").asBool()).toBe(false);
  });

  test("numbers", () => {
    let v = parseOk("-12.5e1");
    expect<bool>(v.isNumber()).toBe(true);
    expect<f64>(v.asNumber()).toBe(-125.0);
    expect<string>(v.rawText()).toBe("-12.5e1");
    expect<f64>(numberOf("0")).toBe(0.0);
    expect<f64>(numberOf("1E+2")).toBe(100.0);
    expect<f64>(numberOf("0.001")).toBe(0.001);
    expect<f64>(numberOf("123456789012345678901234567890")).toBe(1.2345678901234568e29);
    expect<f64>(parseOk('"1"').asNumber()).toBeNaN();
    // -0 keeps its sign
    expect<f64>(1.0 / numberOf("-0")).toBe(-Infinity);
  });

  test("strings", () => {
    let v = parseOk('"hello"');
    expect<bool>(v.isString()).toBe(true);
    expect<string>(v.asString()).toBe("hello");
    expect<i32>(v.length).toBe(5);
    expect<string>(parseOk('""').asString()).toBe("");
    expect<i32>(parseOk('""').stringBytes().length).toBe(0);
    expect<string>(parseOk("1").asString()).toBe("");
  });

  test("arrays", () => {
    let v = parseOk(' [ 1 , "two" , [ ] , { } , null ] ');
    expect<bool>(v.isArray()).toBe(true);
    expect<i32>(v.length).toBe(5);
    expect<f64>(v.at(0)!.asNumber()).toBe(1.0);
    expect<string>(v.at(1)!.asString()).toBe("two");
    expect<bool>(v.at(2)!.isArray()).toBe(true);
    expect<i32>(v.at(2)!.length).toBe(0);
    expect<bool>(v.at(3)!.isObject()).toBe(true);
    expect<bool>(v.at(4)!.isNull()).toBe(true);
    expect<JsonValue | null>(v.at(5)).toBeNull();
    expect<JsonValue | null>(v.at(-1)).toBeNull();
    expect<JsonValue | null>(v.get("0")).toBeNull();
    // elements are read from the tape on each access (not kept), in any order
    expect<string>(v.at(1)!.asString()).toBe("two");
    expect<f64>(v.at(0)!.asNumber()).toBe(1.0);
    expect<bool>(v.at(4)!.isNull()).toBe(true);
  });

  test("objects", () => {
    let v = parseOk('{"a": 1, "b": {"c": [true]}, "中文": "值"}');
    expect<bool>(v.isObject()).toBe(true);
    expect<i32>(v.length).toBe(3);
    expect<f64>(v.get("a")!.asNumber()).toBe(1.0);
    expect<bool>(v.get("b")!.get("c")!.at(0)!.asBool()).toBe(true);
    expect<string>(v.get("中文")!.asString()).toBe("值");
    expect<JsonValue | null>(v.get("missing")).toBeNull();
    expect<bool>(v.has("a")).toBe(true);
    expect<bool>(v.has("z")).toBe(false);
    expect<JsonValue | null>(v.at(0)).toBeNull();
    expect<string>(v.keys().join(",")).toBe("a,b,中文");
    expect<i32>(parseOk("{}").length).toBe(0);
    expect<i32>(parseOk("{}").keys().length).toBe(0);
    expect<i32>(parseOk("3").keys().length).toBe(0);
  });

  test("length of scalars is 0", () => {
    expect<i32>(parseOk("null").length).toBe(0);
    expect<i32>(parseOk("true").length).toBe(0);
    expect<i32>(parseOk("12345").length).toBe(0);
  });

  test("whitespace around values; a leading BOM is skipped", () => {
    expect<f64>(numberOf(" \t\r\n 7 \n")).toBe(7.0);
    let r = parseJson(spliced("", [0xef, 0xbb, 0xbf], "[1]"));
    expect<bool>(r.ok).toBe(true);
    expect<i32>(r.value!.length).toBe(1);
  });

  test("a range is counted from its own start, past a BOM that opens it", () => {
    // "x" BOM "[1] y": the range [1, 8) is the BOM, "[1]" and a space.
    let text = spliced("x", [0xef, 0xbb, 0xbf], "[1] y");
    expect<i32>(countJsonRange(text, 1, 8)).toBe(2);
    expect<i32>(countJsonRange(text, 4, 8)).toBe(2);
    expect<i32>(countJsonRange(text, 0, 8)).toBe(-1);
    expect<i32>(countJsonRange(text, 2, 8)).toBe(-1);
  });
});

// --- strings and escapes ------------------------------------------------------

describe("strings: escapes and Unicode", () => {
  test("all simple escapes", () => {
    let v = parseOk('"q\\" b\\\\ s\\/ \\b\\f\\n\\r\\t"');
    expect<string>(v.asString()).toBe('q" b\\ s/ \b\f\n\r\t');
    expect<i32>(v.length).toBe(14);
    expect<string>(hexBytes(v.stringBytes())).toBe("71 22 20 62 5c 20 73 2f 20 08 0c 0a 0d 09");
  });

  test("\\u escapes, upper and lower case hex", () => {
    expect<string>(parseOk('"\\u0041\\u00e9\\u4E2D"').asString()).toBe("Aé中");
    expect<string>(hexBytes(parseOk('"\\u00e9"').stringBytes())).toBe("c3 a9");
  });

  test("surrogate pair escape", () => {
    let v = parseOk('"\\ud83d\\ude00"');
    expect<string>(v.asString()).toBe("😀");
    expect<i32>(v.length).toBe(2);
    expect<string>(hexBytes(v.stringBytes())).toBe("f0 9f 98 80");
  });

  test("lone surrogate escapes: kept as code units, U+FFFD in UTF-8", () => {
    let v = parseOk('"a\\ud800b\\udc00"');
    expect<string>(codeUnits(v.asString())).toBe("61 d800 62 dc00");
    expect<string>(hexBytes(v.stringBytes())).toBe("61 ef bf bd 62 ef bf bd");
    // a high surrogate followed by a non-surrogate escape
    expect<string>(hexBytes(parseOk('"\\ud83d\\u0041"').stringBytes())).toBe("ef bf bd 41");
  });

  test("raw UTF-8: Chinese and emoji", () => {
    let v = parseOk('"中文 😀 café"');
    expect<string>(v.asString()).toBe("中文 😀 café");
    expect<i32>(v.length).toBe(10);
    expect<string>(hexBytes(v.stringBytes())).toBe(hexBytes(utf8("中文 😀 café")));
  });

  test("parse -> writer.value -> parse keeps strings", () => {
    let texts = [
      '"中文😀\\n\\u0001\\"\\\\ end"',
      '"\\ud83d\\ude00\\ud800"',
      '"plain ascii text that is longer than eight bytes"',
    ];
    for (let i = 0; i < texts.length; i++) {
      let first = parseOk(texts[i]);
      let again = parseJson(serializeJson(first));
      expect<bool>(again.ok).toBe(true);
      expect<string>(again.value!.asString()).toBe(first.asString());
    }
  });

  test("writer.string(s) -> parse -> asString == s", () => {
    let samples = [
      "",
      "plain",
      'quote " and backslash \\',
      "new\nline\r\ttab",
      "control \u0000 \u0001 \u001f \u007f",
      "中文",
      "😀 emoji 👍🏽",
      'mixed 中文 "😀" \\n',
      "a long run of ascii characters without anything special in it at all",
    ];
    for (let i = 0; i < samples.length; i++) {
      let s = samples[i];
      let w = new JsonWriter();
      w.string(s);
      let r = parseJson(w.toBytes());
      expect<bool>(r.ok).toBe(true);
      expect<string>(r.value!.asString()).toBe(s);
    }
  });

  test("writer escapes control characters per RFC 8259", () => {
    expect<string>(new JsonWriter().string('"\\\b\f\n\r\t\u0001\u001f/').toString()).toBe(
      '"\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f/"',
    );
  });

  test("writer: surrogate pairs become 4-byte UTF-8, lone surrogates \\u escapes", () => {
    expect<string>(hexBytes(new JsonWriter().string("😀").toBytes())).toBe("22 f0 9f 98 80 22");
    let lone = String.fromCharCode(0xd800) + "x" + String.fromCharCode(0xdc00);
    let out = new JsonWriter().string(lone).toString();
    expect<string>(out).toBe('"\\ud800x\\udc00"');
    let back = parseJsonString(out);
    expect<string>(codeUnits(back.value!.asString())).toBe("d800 78 dc00");
  });

  test("stringFromUtf8 escapes and replaces invalid bytes", () => {
    let w = new JsonWriter();
    w.stringFromUtf8(spliced('a"\n中', [0xff, 0xc0], "😀"));
    expect<string>(w.toString()).toBe('"a\\"\\n中\uFFFD\uFFFD😀"');
    let r = parseJson(w.toBytes());
    expect<bool>(r.ok).toBe(true);
  });

  test("a 1 MB string parses with the right length and content", () => {
    let n = 1 << 20;
    let src = new Uint8Array(n + 2);
    src[0] = 0x22;
    for (let i = 1; i <= n; i++) src[i] = <u8>(0x61 + (i % 26));
    src[n + 1] = 0x22;
    let r = parseJson(src);
    expect<bool>(r.ok).toBe(true);
    let v = r.value!;
    expect<i32>(v.length).toBe(n);
    let s = v.asString();
    expect<i32>(s.length).toBe(n);
    expect<i32>(s.charCodeAt(0)).toBe(0x62);
    expect<i32>(s.charCodeAt(n - 1)).toBe(0x61 + (n % 26));
    expect<i32>(v.stringBytes().length).toBe(n);
    expect<i32>(serializeJson(v).length).toBe(n + 2);
  });

  test("an 8 MB string with escapes and multi-byte text", () => {
    let unit = 'line \\"中\\" 😀\\n'; // 19 bytes, decodes to 12 code units
    let count = (8 << 20) / 19;
    let src = new Uint8Array(count * 19 + 2);
    let pattern = utf8(unit);
    src[0] = 0x22;
    for (let i = 0; i < count; i++) src.set(pattern, 1 + i * 19);
    src[src.length - 1] = 0x22;
    let r = parseJson(src);
    expect<bool>(r.ok).toBe(true);
    expect<i32>(r.value!.asString().length).toBe(count * 12);
  });
});

// --- rejections -------------------------------------------------------------

describe("parseJson: rejects invalid input with a reason and offset", () => {
  test("truncated input", () => {
    expect<string>(errorOf("")).toBe("unexpected end of input at offset 0");
    expect<string>(errorOf('{"a": [1, 2')).toBe("unexpected end of input at offset 11");
    expect<string>(errorOf('"abc')).toBe("unexpected end of input at offset 4");
    expect<string>(errorOf("tru")).toBe("unexpected end of input at offset 3");
    expect<string>(errorOf('{"a"')).toBe("unexpected end of input at offset 4");
    expect<string>(errorOf('"\\u12')).toBe("unexpected end of input at offset 5");
  });

  test("trailing junk", () => {
    expect<string>(errorOf('{"a":1}x')).toBe("trailing data at offset 7");
    expect<string>(errorOf("[1] [2]")).toBe("trailing data at offset 4");
    let r = parseJsonString("1 2");
    expect<i32>(r.offset).toBe(2);
  });

  test("trailing commas", () => {
    expect<string>(errorOf("[1,]")).toBe("unexpected byte 0x5d at offset 3");
    expect<string>(errorOf('{"a":1,}')).toBe("unexpected byte 0x7d at offset 7");
    expect<string>(errorOf("[,1]")).toBe("unexpected byte 0x2c at offset 1");
  });

  test("malformed numbers", () => {
    expect<string>(errorOf("01")).toBe("trailing data at offset 1");
    expect<string>(errorOf("[01]")).toBe("unexpected byte 0x31 at offset 2");
    expect<string>(errorOf(".5")).toBe("unexpected byte 0x2e at offset 0");
    expect<string>(errorOf("1.")).toBe("unexpected end of input at offset 2");
    expect<string>(errorOf("[1.]")).toBe("unexpected byte 0x5d at offset 3");
    expect<string>(errorOf("-")).toBe("unexpected end of input at offset 1");
    expect<string>(errorOf("-a")).toBe("unexpected byte 0x61 at offset 1");
    expect<string>(errorOf("1e")).toBe("unexpected end of input at offset 2");
    expect<string>(errorOf("1e+x")).toBe("unexpected byte 0x78 at offset 3");
    errorOf("+1");
    errorOf("NaN");
    errorOf("Infinity");
    errorOf("0x10");
  });

  test("other non-JSON syntax", () => {
    errorOf("'single'");
    errorOf("{a: 1}");
    errorOf("[1] // comment");
    errorOf("/* c */ 1");
    errorOf('{"a" 1}');
    errorOf("[1 2]");
    errorOf("True");
    expect<string>(errorOf("nulL")).toBe("unexpected byte 0x4c at offset 3");
  });

  test("bad escapes", () => {
    expect<string>(errorOf('"\\x"')).toBe("invalid escape at offset 1");
    expect<string>(errorOf('["ab\\u12G4"]')).toBe("invalid escape at offset 4");
    errorOf('"\\U0041"');
    errorOf('"\\\'"');
  });

  test("raw control characters in strings", () => {
    expect<string>(errorOf('"a\nb"')).toBe("control character 0x0a in string at offset 2");
    expect<string>(parseError(spliced('"', [0x00], '"'))).toBe("control character 0x00 in string at offset 1");
    parseError(spliced('"', [0x1f], '"'));
    // DEL (0x7f) is allowed
    expect<bool>(parseJson(spliced('"', [0x7f], '"')).ok).toBe(true);
  });

  test("invalid UTF-8 inside strings", () => {
    expect<string>(parseError(spliced('"', [0xc0, 0x80], '"'))).toBe("invalid UTF-8 at offset 1"); // overlong
    expect<string>(parseError(spliced('"ab', [0xed, 0xa0, 0x80], '"'))).toBe("invalid UTF-8 at offset 3"); // surrogate
    parseError(spliced('"', [0xf4, 0x90, 0x80, 0x80], '"')); // above U+10FFFF
    parseError(spliced('"', [0x80], '"')); // lone continuation
    parseError(spliced('"', [0xe4, 0xb8], '"')); // truncated sequence
    parseError(spliced('"', [0xe4, 0xb8], "")); // truncated at the end
    parseError(spliced('"', [0xe0, 0x80, 0x80], '"')); // overlong 3-byte
    parseError(spliced('"', [0xf0, 0x80, 0x80, 0x80], '"')); // overlong 4-byte
    parseError(spliced('"', [0xff], '"'));
    parseError(spliced('"0123456789', [0xc1, 0xbf], '0123456789"'));
    // the largest valid sequences pass
    expect<bool>(parseJson(spliced('"', [0xf4, 0x8f, 0xbf, 0xbf, 0xef, 0xbf, 0xbf], '"')).ok).toBe(true);
  });

  test("bytes outside strings", () => {
    expect<string>(parseError(bytesOf([0x00]))).toBe("unexpected byte 0x00 at offset 0");
    expect<string>(parseError(spliced("[1", [0x00], "]"))).toBe("unexpected byte 0x00 at offset 2");
    expect<string>(parseError(spliced("[1]", [0x00], ""))).toBe("trailing data at offset 3");
    parseError(bytesOf([0xc0, 0x80]));
    parseError(spliced("", [0xef, 0xbb, 0xbf], "")); // a BOM alone
    parseError(utf8("\u00A0 1")); // no-break space is not JSON whitespace
  });

  test("10,000-deep nesting is an error, not a trap", () => {
    let depth = 10000;
    let src = new Uint8Array(depth * 2);
    for (let i = 0; i < depth; i++) {
      src[i] = 0x5b;
      src[depth * 2 - 1 - i] = 0x5d;
    }
    let r = parseJson(src);
    expect<bool>(r.ok).toBe(false);
    expect<string>(r.error).toBe("nesting deeper than 512 at offset 512");
    expect<i32>(r.offset).toBe(512);
    expect<bool>(isValidJson(src)).toBe(false);
    // objects too, and a custom limit
    let objects = "";
    for (let i = 0; i < 10000; i++) objects += '{"a":';
    expect<bool>(parseJsonString(objects).ok).toBe(false);
    expect<string>(parseJsonString("[[[1]]]", 2).error).toBe("nesting deeper than 2 at offset 2");
    expect<bool>(parseJsonString("[[1]]", 2).ok).toBe(true);
    // a deep limit stays iterative: 10,000 levels parse and serialize
    let deep = parseJson(src, 20000);
    expect<bool>(deep.ok).toBe(true);
    expect<i32>(serializeJson(deep.value!).length).toBe(depth * 2);
  });

  test("512 levels are accepted by default", () => {
    let s = "";
    for (let i = 0; i < 512; i++) s += "[";
    for (let i = 0; i < 512; i++) s += "]";
    expect<bool>(parseJsonString(s).ok).toBe(true);
    expect<string>(reserialize(s)).toBe(s);
  });

  test("random byte soup never traps", () => {
    let seed: u32 = 12345;
    let alphabet = utf8('{}[]",:0123456789.eE+-tfnrulsa\\ \n');
    for (let round = 0; round < 3000; round++) {
      let n = <i32>(round % 40);
      let src = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        seed = seed * 1103515245 + 12345;
        let pick = (seed >> 16) & 0x7fff;
        src[i] = (pick & 3) == 0 ? <u8>(pick >> 2) : alphabet[<i32>(pick % <u32>alphabet.length)];
      }
      let r = parseJson(src);
      expect<bool>(isValidJson(src)).toBe(r.ok);
      if (r.ok) {
        let again = parseJson(serializeJson(r.value!));
        expect<bool>(again.ok).toBe(true);
        expect<bool>(jsonEquals(again.value!, r.value!)).toBe(true);
      }
    }
  });
});

// --- numbers ------------------------------------------------------------------

describe("numbers", () => {
  test("huge and tiny exponents", () => {
    let big = parseOk("1e400");
    expect<f64>(big.asNumber()).toBe(Infinity);
    expect<string>(big.rawText()).toBe("1e400");
    expect<f64>(numberOf("-1e400")).toBe(-Infinity);
    expect<f64>(numberOf("1e-400")).toBe(0.0);
    expect<string>(stringifyJson(big)).toBe("1e400");
    expect<f64>(numberOf("1e99999999999999999999")).toBe(Infinity);
  });

  test("correct rounding on hard cases", () => {
    expect<f64>(numberOf("0.1")).toBe(0.1);
    expect<f64>(numberOf("0.30000000000000004")).toBe(0.30000000000000004);
    expect<f64>(numberOf("9007199254740993")).toBe(9007199254740992.0); // tie to even
    expect<f64>(numberOf("9007199254740995")).toBe(9007199254740996.0);
    expect<f64>(numberOf("2.2250738585072011e-308")).toBe(2.225073858507201e-308);
    expect<f64>(numberOf("4.9406564584124654e-324")).toBe(5e-324);
    expect<f64>(numberOf("2.4703282292062327e-324")).toBe(0.0);
    expect<f64>(numberOf("2.4703282292062328e-324")).toBe(5e-324);
    expect<f64>(numberOf("1.7976931348623157e308")).toBe(1.7976931348623157e308);
    expect<f64>(numberOf("1.7976931348623159e308")).toBe(Infinity);
    expect<f64>(numberOf("7.038531e-26")).toBe(7.038531e-26);
    let longDigits = "0.";
    for (let i = 0; i < 1000; i++) longDigits += "3";
    expect<f64>(numberOf(longDigits)).toBe(0.3333333333333333);
  });

  test("isInteger", () => {
    expect<bool>(parseOk("1").isInteger()).toBe(true);
    expect<bool>(parseOk("1.0").isInteger()).toBe(true);
    expect<bool>(parseOk("1e2").isInteger()).toBe(true);
    expect<bool>(parseOk("-0").isInteger()).toBe(true);
    expect<bool>(parseOk("100e-2").isInteger()).toBe(true);
    expect<bool>(parseOk("1.5e1").isInteger()).toBe(true);
    expect<bool>(parseOk("1.5").isInteger()).toBe(false);
    expect<bool>(parseOk("1e-2").isInteger()).toBe(false);
    expect<bool>(parseOk('"1"').isInteger()).toBe(false);
    expect<bool>(jsonNumber(3).isInteger()).toBe(true);
    expect<bool>(jsonNumber(3.5).isInteger()).toBe(false);
    expect<bool>(jsonNumber(Infinity).isInteger()).toBe(false);
  });

  test("writer.number matches JavaScript's Number#toString", () => {
    expect<string>(formatted(3)).toBe("3");
    expect<string>(formatted(-0.0)).toBe("0");
    expect<string>(formatted(0)).toBe("0");
    expect<string>(formatted(1e21)).toBe("1e+21");
    expect<string>(formatted(1e20)).toBe("100000000000000000000");
    expect<string>(formatted(1.5e-7)).toBe("1.5e-7");
    expect<string>(formatted(0.000001)).toBe("0.000001");
    expect<string>(formatted(0.1)).toBe("0.1");
    expect<string>(formatted(0.1 + 0.2)).toBe("0.30000000000000004");
    expect<string>(formatted(-1.5)).toBe("-1.5");
    expect<string>(formatted(1.0 / 3.0)).toBe("0.3333333333333333");
    expect<string>(formatted(123e-20)).toBe("1.23e-18");
    expect<string>(formatted(5e-324)).toBe("5e-324");
    expect<string>(formatted(1.7976931348623157e308)).toBe("1.7976931348623157e+308");
    expect<string>(formatted(9007199254740993.0)).toBe("9007199254740992");
    expect<string>(formatted(2e-7)).toBe("2e-7");
    expect<string>(formatted(123456789.125)).toBe("123456789.125");
    expect<string>(formatted(NaN)).toBe("null");
    expect<string>(formatted(Infinity)).toBe("null");
    expect<string>(formatted(-Infinity)).toBe("null");
  });

  test("writer.number round-trips", () => {
    let values: f64[] = [0.1, 2.5e-300, 1.2345678901234567e200, 4.35, 1e-7, 9.999999999999999e22, 7.038531e-26];
    for (let i = 0; i < values.length; i++) {
      expect<f64>(numberOf(formatted(values[i]))).toBe(values[i]);
    }
  });

  test("writer.integer", () => {
    let w = new JsonWriter();
    w.beginArray().integer(0).integer(-42).integer(i64.MAX_VALUE).integer(i64.MIN_VALUE).endArray();
    expect<string>(w.toString()).toBe("[0,-42,9223372036854775807,-9223372036854775808]");
  });

  test("numbers are written from their source text", () => {
    expect<string>(reserialize("[1.0, -0.0, 1E5, 0.10]")).toBe("[1.0,-0.0,1E5,0.10]");
    expect<string>(parseOk('{"n": 2.50}').rawText()).toBe('{"n":2.50}');
  });
});

// --- objects ------------------------------------------------------------------

describe("objects: duplicates and many members", () => {
  test("duplicate keys: last wins, first position kept", () => {
    let v = parseOk('{"b": 1, "a": 2, "b": 3}');
    expect<f64>(v.get("b")!.asNumber()).toBe(3.0);
    expect<string>(v.keys().join(",")).toBe("b,a");
    expect<i32>(v.length).toBe(2);
    expect<string>(stringifyJson(v)).toBe('{"b":3,"a":2}');
  });

  test("duplicates spelled with escapes", () => {
    let v = parseOk('{"a": 1, "\\u0061": 2}');
    expect<f64>(v.get("a")!.asNumber()).toBe(2.0);
    expect<i32>(v.length).toBe(1);
    expect<string>(stringifyJson(v)).toBe('{"a":2}');
  });

  test("duplicates in nested objects are collapsed when writing", () => {
    expect<string>(reserialize('[{"x": {"k": 1, "k": 2}, "x": {"k": 3, "j": 4, "k": 5}}]')).toBe(
      '[{"x":{"k":5,"j":4}}]',
    );
  });

  test("10,000 members: lookups, keys and duplicates stay fast", () => {
    let n = 10000;
    let w = new JsonWriter();
    w.beginObject();
    for (let i = 0; i < n; i++) w.key("k" + i.toString()).integer(i);
    w.key("k5").integer(-5); // one duplicate
    w.endObject();
    let r = parseJson(w.toBytes());
    expect<bool>(r.ok).toBe(true);
    let v = r.value!;
    expect<i32>(v.length).toBe(n);
    for (let i = 0; i < n; i += 7) {
      expect<f64>(v.get("k" + i.toString())!.asNumber()).toBe(i == 5 ? -5.0 : <f64>i);
    }
    expect<f64>(v.get("k5")!.asNumber()).toBe(-5.0);
    expect<i32>(v.keys().length).toBe(n);
    expect<string>(v.keys()[9999]).toBe("k9999");
    expect<i32>(parseJson(serializeJson(v)).value!.length).toBe(n);
  });

  test("get on non-objects is null", () => {
    expect<JsonValue | null>(parseOk("[1]").get("a")).toBeNull();
    expect<JsonValue | null>(parseOk('"a"').get("a")).toBeNull();
    expect<bool>(parseOk("null").has("a")).toBe(false);
  });
});

// --- prefix, validity, rawText ------------------------------------------------

describe("parseJsonPrefix, isValidJson, rawText", () => {
  test("parseJsonPrefix reads one value and reports where it ends", () => {
    let src = utf8('xx  {"a": [1, 2]} trailing words');
    let r = parseJsonPrefix(src, 2);
    expect<bool>(r.ok).toBe(true);
    expect<i32>(r.end).toBe(17);
    expect<string>(stringifyJson(r.value!)).toBe('{"a":[1,2]}');
    let n = parseJsonPrefix(utf8("12abc"), 0);
    expect<bool>(n.ok).toBe(true);
    expect<i32>(n.end).toBe(2);
    let bad = parseJsonPrefix(utf8('{"a":'), 0);
    expect<bool>(bad.ok).toBe(false);
    expect<string>(bad.error).toBe("unexpected end of input at offset 5");
    expect<bool>(parseJsonPrefix(src, 100).ok).toBe(false);
    expect<bool>(parseJsonPrefix(src, -1).ok).toBe(false);
  });

  test("isValidJson", () => {
    expect<bool>(isValidJson(utf8('{"a":[1,true,null,"x"]}'))).toBe(true);
    expect<bool>(isValidJson(utf8(" 1 "))).toBe(true);
    expect<bool>(isValidJson(utf8('{"a":[1,true,null,"x"]'))).toBe(false);
    expect<bool>(isValidJson(new Uint8Array(0))).toBe(false);
  });

  test("rawText of containers and scalars is compact JSON", () => {
    expect<string>(parseOk(' { "a" : [ 1 , true ] , "b" : null } ').rawText()).toBe('{"a":[1,true],"b":null}');
    expect<string>(parseOk('"x\\ny"').rawText()).toBe('"x\\ny"');
    expect<string>(parseOk("false").rawText()).toBe("false");
    expect<string>(jsonNumber(2.5).rawText()).toBe("2.5");
    expect<string>(jsonString('q"').rawText()).toBe('"q\\""');
  });
});

// --- writer -------------------------------------------------------------------

describe("JsonWriter", () => {
  test("commas and nesting are automatic", () => {
    let w = new JsonWriter(1);
    w.beginObject()
      .key("a")
      .integer(1)
      .key("b")
      .beginArray()
      .bool(true)
      .null()
      .string("s")
      .beginObject()
      .endObject()
      .beginArray()
      .endArray()
      .endArray()
      .key("c")
      .number(0.5)
      .key('q"k')
      .raw(utf8('{"pre":1}'))
      .endObject();
    let text = w.toString();
    expect<string>(text).toBe('{"a":1,"b":[true,null,"s",{},[]],"c":0.5,"q\\"k":{"pre":1}}');
    expect<i32>(w.byteLength).toBe(text.length);
    expect<i32>(w.toBytes().length).toBe(w.byteLength);
  });

  test("value() writes built values", () => {
    let v = jsonObject(
      ["name", "list", "nested"],
      [
        jsonString('中文 "q"'),
        jsonArray([jsonNumber(1), jsonNumber(2.5), jsonBool(false), jsonNull()]),
        jsonObject(["x"], [jsonNumber(-0.0)]),
      ],
    );
    expect<string>(stringifyJson(v)).toBe('{"name":"中文 \\"q\\"","list":[1,2.5,false,null],"nested":{"x":0}}');
    let w = new JsonWriter();
    w.beginArray().value(v).value(parseOk("[1]")).endArray();
    expect<bool>(parseJson(w.toBytes()).ok).toBe(true);
  });

  test("built values may hold parsed ones and the reverse", () => {
    let parsed = parseOk('{"p": [1, {"q": "\\u00e9"}]}');
    let built = jsonObject(["wrap", "again"], [parsed, jsonArray([parsed.get("p")!])]);
    expect<string>(stringifyJson(built)).toBe('{"wrap":{"p":[1,{"q":"\\u00e9"}]},"again":[[1,{"q":"\\u00e9"}]]}');
  });

  test("large output grows the buffer", () => {
    let w = new JsonWriter(4);
    w.beginArray();
    for (let i = 0; i < 100000; i++) w.string("item");
    w.endArray();
    expect<i32>(w.byteLength).toBe(2 + 100000 * 6 + 99999);
    let r = parseJson(w.toBytes());
    expect<i32>(r.value!.length).toBe(100000);
  });
});

// --- factories and equality -----------------------------------------------------

describe("factories and jsonEquals", () => {
  test("factories build every kind", () => {
    expect<bool>(jsonNull().isNull()).toBe(true);
    expect<bool>(jsonBool(true).asBool()).toBe(true);
    expect<f64>(jsonNumber(2.5).asNumber()).toBe(2.5);
    let s = jsonString("😀x");
    expect<string>(s.asString()).toBe("😀x");
    expect<i32>(s.length).toBe(3);
    expect<string>(hexBytes(s.stringBytes())).toBe("f0 9f 98 80 78");
    expect<string>(hexBytes(jsonString(String.fromCharCode(0xdc00)).stringBytes())).toBe("ef bf bd");
    let a = jsonArray([jsonNumber(1)]);
    expect<i32>(a.length).toBe(1);
    expect<f64>(a.at(0)!.asNumber()).toBe(1.0);
    let o = jsonObject(["a", "b", "a"], [jsonNumber(1), jsonNumber(2), jsonNumber(3)]);
    expect<i32>(o.length).toBe(2);
    expect<f64>(o.get("a")!.asNumber()).toBe(3.0);
    expect<string>(o.keys().join(",")).toBe("a,b");
    expect<string>(stringifyJson(o)).toBe('{"a":3,"b":2}');
    // mismatched lengths use the shorter list
    expect<i32>(jsonObject(["a", "b"], [jsonNull()]).length).toBe(1);
  });

  test("numbers compare by value", () => {
    expect<bool>(jsonEquals(parseOk("1"), parseOk("1.0"))).toBe(true);
    expect<bool>(jsonEquals(parseOk("1e2"), jsonNumber(100))).toBe(true);
    expect<bool>(jsonEquals(parseOk("1"), parseOk("2"))).toBe(false);
    expect<bool>(jsonEquals(parseOk("0"), parseOk("-0"))).toBe(true);
  });

  test("objects are unordered, arrays ordered", () => {
    expect<bool>(jsonEquals(parseOk('{"a":1,"b":[1,2]}'), parseOk('{"b":[1,2],"a":1}'))).toBe(true);
    expect<bool>(jsonEquals(parseOk("[1,2]"), parseOk("[2,1]"))).toBe(false);
    expect<bool>(jsonEquals(parseOk('{"a":1}'), parseOk('{"a":1,"b":2}'))).toBe(false);
    expect<bool>(jsonEquals(parseOk('{"a":1,"c":2}'), parseOk('{"a":1,"b":2}'))).toBe(false);
    expect<bool>(jsonEquals(parseOk('{"a":1,"a":2}'), parseOk('{"a":2}'))).toBe(true);
    expect<bool>(jsonEquals(parseOk('[[{"x":[true]}]]'), parseOk('[[{"x":[true]}]]'))).toBe(true);
    expect<bool>(jsonEquals(parseOk('[[{"x":[true]}]]'), parseOk('[[{"x":[false]}]]'))).toBe(false);
  });

  test("values nested deeper than the walks' first stacks (64 levels) compare and hash", () => {
    let open = "";
    let close = "";
    for (let i = 0; i < 100; i++) {
      open += i % 2 == 0 ? "[" : '{"k":';
      close = (i % 2 == 0 ? "]" : "}") + close;
    }
    let a = parseOk(open + "1" + close);
    let b = parseOk(open + "1.0" + close);
    let c = parseOk(open + "2" + close);
    expect<bool>(jsonEquals(a, b)).toBe(true);
    expect<bool>(jsonEquals(a, c)).toBe(false);
    expect<bool>(hashValue(a) == hashValue(b)).toBe(true);
    expect<bool>(hashValue(a) == hashValue(c)).toBe(false);
  });

  test("strings compare by code units, whatever the spelling", () => {
    expect<bool>(jsonEquals(parseOk('"a"'), parseOk('"\\u0061"'))).toBe(true);
    expect<bool>(jsonEquals(parseOk('"é"'), jsonString("é"))).toBe(true);
    expect<bool>(jsonEquals(parseOk('"a"'), parseOk('"b"'))).toBe(false);
    expect<bool>(jsonEquals(parseOk('"😀"'), parseOk('"\\ud83d\\ude00"'))).toBe(true);
  });

  test("kinds must match", () => {
    expect<bool>(jsonEquals(parseOk("1"), parseOk('"1"'))).toBe(false);
    expect<bool>(jsonEquals(parseOk("null"), parseOk("false"))).toBe(false);
    expect<bool>(jsonEquals(parseOk("[]"), parseOk("{}"))).toBe(false);
    expect<bool>(jsonEquals(parseOk("true"), jsonBool(true))).toBe(true);
  });

  test("built and parsed trees compare equal", () => {
    let built = jsonObject(["list", "s"], [jsonArray([jsonNumber(1), jsonNull()]), jsonString("x")]);
    expect<bool>(jsonEquals(built, parseOk('{"s":"x","list":[1.0,null]}'))).toBe(true);
  });
});

describe("ByteBuilder and byteAt", () => {
  test("appends bytes, ranges, strings; grows past its capacity", () => {
    let b = new ByteBuilder(2);
    b.pushByte(0x61);
    b.pushRange(utf8("xbcy"), 1, 3);
    b.pushString("dé");
    b.pushBytes(utf8("!"));
    expect<i32>(b.length).toBe(7);
    expect<string>(String.UTF8.decode(b.toBytes().buffer)).toBe("abcdé!");
    let big = new ByteBuilder(1);
    for (let i = 0; i < 1000; i++) big.pushByte(<u8>(i & 0xff));
    let out = big.toBytes();
    expect<i32>(out.length).toBe(1000);
    expect<u8>(out[999]).toBe(<u8>(999 & 0xff));
  });
  test("ranges are clamped to the source", () => {
    let b = new ByteBuilder();
    b.pushRange(utf8("abc"), -5, 2);
    b.pushRange(utf8("abc"), 2, 99);
    b.pushRange(utf8("abc"), 2, 1);
    expect<string>(String.UTF8.decode(b.toBytes().buffer)).toBe("abc");
  });
  test("toBytes copies; clear keeps going; takeBytes hands over and empties", () => {
    let b = new ByteBuilder(4);
    b.pushString("abcd");
    let copy = b.toBytes();
    b.clear();
    b.pushString("wx");
    expect<string>(String.UTF8.decode(copy.buffer)).toBe("abcd");
    expect<string>(String.UTF8.decode(b.toBytes().buffer)).toBe("wx");
    let exact = new ByteBuilder(3);
    exact.pushString("xyz");
    let taken = exact.takeBytes();
    expect<i32>(taken.length).toBe(3);
    expect<string>(String.UTF8.decode(taken.buffer)).toBe("xyz");
    expect<i32>(exact.length).toBe(0);
    exact.pushString("q");
    expect<string>(String.UTF8.decode(exact.takeBytes().buffer)).toBe("q");
    expect<string>(String.UTF8.decode(taken.buffer)).toBe("xyz");
  });
  test("byteAt reads in range and gives 0 outside it", () => {
    let text = utf8("{é");
    expect<u32>(byteAt(text, 0)).toBe(0x7b);
    expect<u32>(byteAt(text, 2)).toBe(0xa9);
    expect<u32>(byteAt(text, 3)).toBe(0);
    expect<u32>(byteAt(text, -1)).toBe(0);
    expect<u32>(byteAt(new Uint8Array(0), 0)).toBe(0);
  });
});
