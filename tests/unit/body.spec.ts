// Bodies collected in the plugin (assembly/higress/body.ts) and the SDK's body
// callbacks, against the fake host of as-pect.config.mjs: buffer 1 plays the
// chunk (or, once held, Envoy's buffer) a body callback sees.
export { malloc } from "../../assembly/proxy/hostcalls";
import {
  BodyCollector,
  BodyDirection,
  BodyState,
  CollectStep,
  bufferLimitFor,
  contentLengthOf,
  raiseBufferLimit,
  DEFAULT_MAX_BODY_BYTES,
  HttpContext,
  Plugin,
  PluginRootContext,
  ProcessBodyTooLargeBy,
  ProcessResponseBodyBy,
  RuleSet,
  CtxOption,
} from "../../assembly/higress";
import { BufferTypeValues, FilterDataStatusValues, getBufferBytes, getPropertyString } from "../../assembly/proxy";
import { fakehostReset, propertySets, setBuffer } from "./fakehost";

const RES: u32 = BufferTypeValues.HttpResponseBody;
const REQ: u32 = BufferTypeValues.HttpRequestBody;

function buffer(type: u32): string {
  const b = getBufferBytes(<BufferTypeValues>type, 0, 1 << 30);
  return String.UTF8.decodeUnsafe(b.dataStart, b.length);
}

function bytes(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function text(b: Uint8Array): string {
  return String.UTF8.decodeUnsafe(b.dataStart, b.length);
}

/** Feeds `chunks` as body callbacks; the last one ends the stream. Returns the last step. */
function feed(c: BodyCollector, chunks: string[]): CollectStep {
  let step = CollectStep.More;
  for (let i = 0; i < chunks.length; i++) {
    setBuffer(c.direction == BodyDirection.Response ? RES : REQ, chunks[i]);
    step = c.onData(<u32>String.UTF8.byteLength(chunks[i]), i == chunks.length - 1);
  }
  return step;
}

describe("BodyCollector", () => {
  beforeEach(() => fakehostReset());

  it("collects every chunk, the last one (an HTTP/2 frame with end_stream) included", () => {
    const c = new BodyCollector(BodyDirection.Response, 100);
    setBuffer(RES, "abc");
    expect(c.onData(3, false)).toBe(CollectStep.More);
    setBuffer(RES, "def");
    expect(c.onData(3, false)).toBe(CollectStep.More);
    setBuffer(RES, "gh");
    expect(c.onData(2, true)).toBe(CollectStep.Complete);
    expect(text(c.body())).toBe("abcdefgh");
    expect(c.state).toBe(BodyState.Complete);
    expect(c.size).toBe(8);
  });

  it("an HTTP/1 end: an empty last chunk", () => {
    const c = new BodyCollector(BodyDirection.Response, 100);
    expect(feed(c, ["ab", "cd", ""])).toBe(CollectStep.Complete);
    expect(text(c.body())).toBe("abcd");
  });

  it("finishing in the callback writes the whole original body over the last chunk", () => {
    const c = new BodyCollector(BodyDirection.Response, 100);
    feed(c, ["abc", "def", "gh"]);
    expect(c.finishCallback(FilterDataStatusValues.Continue)).toBe(FilterDataStatusValues.Continue);
    expect(buffer(RES)).toBe("abcdefgh");
    expect(c.state).toBe(BodyState.Released);
    expect(c.body().length).toBe(0, "the collected bytes are let go");
  });

  it("a body written in the callback is what goes on", () => {
    const c = new BodyCollector(BodyDirection.Response, 100);
    feed(c, ["abc", "def", "gh"]);
    expect(c.write(bytes('{"a":1}'))).toBe(true);
    expect(c.finishCallback(FilterDataStatusValues.Continue)).toBe(FilterDataStatusValues.Continue);
    expect(buffer(RES)).toBe('{"a":1}');
  });

  it("pausing: Envoy buffers exactly the last chunk, and the answer replaces it", () => {
    const c = new BodyCollector(BodyDirection.Response, 100);
    feed(c, ["abc", "def", "gh"]);
    expect(c.finishCallback(FilterDataStatusValues.StopIterationAndBuffer)).toBe(
      FilterDataStatusValues.StopIterationAndBuffer,
    );
    expect(c.state).toBe(BodyState.Held);
    expect(buffer(RES)).toBe("gh");
    expect(c.write(bytes("XYZ"))).toBe(true);
    expect(buffer(RES)).toBe("XYZ");
    c.release();
    expect(buffer(RES)).toBe("XYZ", "nothing is written after the answer");
  });

  it("pausing, then nothing written: the release puts the whole original body back", () => {
    const c = new BodyCollector(BodyDirection.Response, 100);
    feed(c, ["abc", "def", "gh"]);
    c.finishCallback(FilterDataStatusValues.StopIterationAndBuffer);
    c.release();
    expect(buffer(RES)).toBe("abcdefgh");
    c.release();
    expect(buffer(RES)).toBe("abcdefgh", "a second release writes nothing");
  });

  it("any stop at the end of the stream becomes StopIterationAndBuffer (a buffer to write into later)", () => {
    const c = new BodyCollector(BodyDirection.Response, 100);
    feed(c, ["abc"]);
    expect(c.finishCallback(FilterDataStatusValues.StopIterationNoBuffer)).toBe(
      FilterDataStatusValues.StopIterationAndBuffer,
    );
  });

  it("a body over maxBytes: what was held goes in front of the current chunk, the rest flows on", () => {
    const c = new BodyCollector(BodyDirection.Response, 5);
    setBuffer(RES, "abc");
    expect(c.onData(3, false)).toBe(CollectStep.More);
    setBuffer(RES, "defg");
    expect(c.onData(4, false)).toBe(CollectStep.TooLarge);
    expect(buffer(RES)).toBe("abcdefg");
    expect(c.state).toBe(BodyState.PassedThrough);
    setBuffer(RES, "hij");
    expect(c.onData(3, true)).toBe(CollectStep.TooLarge);
    expect(buffer(RES)).toBe("hij", "later chunks are untouched");
    expect(c.write(bytes("x"))).toBe(false);
  });

  it("a first chunk already over maxBytes is left as it is", () => {
    const c = new BodyCollector(BodyDirection.Response, 5);
    setBuffer(RES, "0123456789");
    expect(c.onData(10, true)).toBe(CollectStep.TooLarge);
    expect(buffer(RES)).toBe("0123456789");
  });

  it("exactly maxBytes is collected", () => {
    const c = new BodyCollector(BodyDirection.Response, 6);
    expect(feed(c, ["abc", "def"])).toBe(CollectStep.Complete);
    expect(text(c.body())).toBe("abcdef");
  });

  it("nothing can be written while collecting", () => {
    const c = new BodyCollector(BodyDirection.Response, 100);
    setBuffer(RES, "abc");
    c.onData(3, false);
    expect(c.write(bytes("x"))).toBe(false);
    expect(buffer(RES)).toBe("abc");
  });

  it("an output over the stream's buffer limit is refused (Envoy would answer 500)", () => {
    const c = new BodyCollector(BodyDirection.Response, 100);
    c.raiseLimit();
    expect(c.limit).toBe(bufferLimitFor(100));
    feed(c, ["abc"]);
    expect(c.write(new Uint8Array(<i32>c.limit + 1))).toBe(false);
    expect(c.written).toBe(false);
    expect(c.write(new Uint8Array(<i32>c.limit))).toBe(true);
  });

  it("the request direction reads and writes the request body buffer", () => {
    const c = new BodyCollector(BodyDirection.Request, 100);
    expect(feed(c, ['{"model":', '"x"}'])).toBe(CollectStep.Complete);
    expect(text(c.body())).toBe('{"model":"x"}');
    c.finishCallback(FilterDataStatusValues.Continue);
    expect(buffer(REQ)).toBe('{"model":"x"}');
    expect(buffer(RES)).toBe("");
  });
});

describe("the stream's buffer limit", () => {
  beforeEach(() => fakehostReset());

  it("2 x maxBytes + 1 MiB, at most a u32", () => {
    expect(bufferLimitFor(1024)).toBe(2048 + 1048576);
    expect(bufferLimitFor(DEFAULT_MAX_BODY_BYTES)).toBe(20 * 1048576 + 1048576);
    expect(bufferLimitFor((<i64>1) << 40)).toBe(4294967295);
  });

  it("raised through set_encoder_buffer_limit (responses) and set_decoder_buffer_limit (requests), decimal bytes", () => {
    expect(raiseBufferLimit(BodyDirection.Response, 21 * 1048576)).toBe(21 * 1048576);
    expect(getPropertyString(["set_encoder_buffer_limit"])!).toBe("22020096");
    expect(raiseBufferLimit(BodyDirection.Request, 5000)).toBe(5000);
    expect(getPropertyString(["set_decoder_buffer_limit"])!).toBe("5000");
    expect(propertySets()).toBe(2);
  });

  it("a larger limit another filter set on the stream is kept", () => {
    raiseBufferLimit(BodyDirection.Response, 104857600);
    expect(raiseBufferLimit(BodyDirection.Response, 5000)).toBe(104857600);
    expect(getPropertyString(["set_encoder_buffer_limit"])!).toBe("104857600");
    expect(propertySets()).toBe(1);
    expect(raiseBufferLimit(BodyDirection.Response, 204857600)).toBe(204857600);
    expect(propertySets()).toBe(2);
  });

  it("content-length values", () => {
    expect(contentLengthOf("123")).toBe(123);
    expect(contentLengthOf(" 42 ")).toBe(42);
    expect(contentLengthOf("0")).toBe(0);
    expect(contentLengthOf("4294967295")).toBe(4294967295);
    expect(contentLengthOf("12345678901")).toBe(-1);
    expect(contentLengthOf("1e3")).toBe(-1);
    expect(contentLengthOf("-1")).toBe(-1);
    expect(contentLengthOf("")).toBe(-1);
    expect(contentLengthOf(null)).toBe(-1);
  });
});

// ---- the SDK's body callbacks ---------------------------------------------------

class TestConfig {
  constructor(public pause: bool = false) {}
}

let seen = "";
let calls = 0;
let tooLargeSize: i64 = -1;

function onBody(ctx: HttpContext<TestConfig>, config: TestConfig, body: Uint8Array): FilterDataStatusValues {
  calls++;
  seen = text(body);
  return config.pause ? FilterDataStatusValues.StopIterationAndBuffer : FilterDataStatusValues.Continue;
}

function onTooLarge(ctx: HttpContext<TestConfig>, config: TestConfig, direction: BodyDirection, size: i64): void {
  tooLargeSize = size;
}

function stream(pause: bool): HttpContext<TestConfig> {
  const options: CtxOption<TestConfig>[] = [
    ProcessResponseBodyBy<TestConfig>(onBody),
    ProcessBodyTooLargeBy<TestConfig>(onTooLarge),
  ];
  const root = new PluginRootContext<TestConfig>(1, new Plugin<TestConfig>("test", options));
  const rules = new RuleSet<TestConfig>();
  rules.global = new TestConfig(pause);
  root.rules = rules;
  return new HttpContext<TestConfig>(2, root);
}

describe("SDK body callbacks", () => {
  beforeEach(() => {
    fakehostReset();
    seen = "";
    calls = 0;
    tooLargeSize = -1;
  });

  it("StopIterationNoBuffer until the end; the handler gets the whole body; the original goes on", () => {
    const ctx = stream(false);
    setBuffer(RES, '{"a":');
    expect(ctx.onResponseBody(5, false)).toBe(FilterDataStatusValues.StopIterationNoBuffer);
    setBuffer(RES, "1}");
    expect(ctx.onResponseBody(2, true)).toBe(FilterDataStatusValues.Continue);
    expect(calls).toBe(1);
    expect(seen).toBe('{"a":1}');
    expect(buffer(RES)).toBe('{"a":1}');
    expect(getPropertyString(["set_encoder_buffer_limit"])!).toBe(bufferLimitFor(DEFAULT_MAX_BODY_BYTES).toString());
  });

  it("a paused response: the last chunk is buffered, and resuming without a new body restores the original", () => {
    const ctx = stream(true);
    setBuffer(RES, '{"a":');
    ctx.onResponseBody(5, false);
    setBuffer(RES, "1}");
    expect(ctx.onResponseBody(2, true)).toBe(FilterDataStatusValues.StopIterationAndBuffer);
    ctx.responsePaused = true; // what the ABI layer records for a stop at the end of the stream
    expect(buffer(RES)).toBe("1}");
    expect(ctx.resumeResponse()).toBe(true);
    expect(buffer(RES)).toBe('{"a":1}');
  });

  it("a paused response replaced by the answer", () => {
    const ctx = stream(true);
    setBuffer(RES, '{"a":1}');
    ctx.onResponseBody(7, true);
    ctx.responsePaused = true;
    expect(ctx.replaceResponseBody(bytes('{"converted":true}'))).toBe(true);
    ctx.resumeResponse();
    expect(buffer(RES)).toBe('{"converted":true}');
  });

  it("too large: the handler is not called, the too-large handler is, and the body passes byte for byte", () => {
    const ctx = stream(false);
    ctx.collectResponseBody(4);
    setBuffer(RES, "abc");
    expect(ctx.onResponseBody(3, false)).toBe(FilterDataStatusValues.StopIterationNoBuffer);
    setBuffer(RES, "def");
    expect(ctx.onResponseBody(3, false)).toBe(FilterDataStatusValues.Continue);
    expect(buffer(RES)).toBe("abcdef");
    expect(tooLargeSize).toBe(6);
    setBuffer(RES, "ghi");
    expect(ctx.onResponseBody(3, true)).toBe(FilterDataStatusValues.Continue);
    expect(buffer(RES)).toBe("ghi");
    expect(calls).toBe(0);
  });

  it("disableReroute sets clear_route_cache to off, once per stream", () => {
    const ctx = stream(false);
    ctx.disableReroute();
    ctx.disableReroute();
    expect(getPropertyString(["clear_route_cache"])!).toBe("off");
    expect(propertySets()).toBe(1);
  });
});
