import { encodeHeaders, decodeHeaders, HeaderPair, findHeader } from "../../assembly/proxy";
import { asciiLower } from "../../assembly/json";

function pairs(): HeaderPair[] {
  return [
    new HeaderPair(":status", "200"),
    new HeaderPair("content-type", "application/json"),
    new HeaderPair("x-empty", ""),
    new HeaderPair("x-中文", "值"),
  ];
}

describe("header maps", () => {
  it("encodes in the proxy-wasm layout", () => {
    const b = encodeHeaders([new HeaderPair("ab", "c"), new HeaderPair("d", "")]);
    // u32 count, (u32 klen, u32 vlen) x2, "ab\0c\0d\0\0"
    const expected: u8[] = [2, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 97, 98, 0, 99, 0, 100, 0, 0];
    expect(b.length).toBe(expected.length);
    for (let i = 0; i < expected.length; i++) expect(b[i]).toBe(expected[i], "byte " + i.toString());
  });
  it("empty map is 4 bytes; 0 and 4 bytes decode to nothing", () => {
    expect(encodeHeaders([]).length).toBe(4);
    expect(decodeHeaders(new Uint8Array(0)).length).toBe(0);
    expect(decodeHeaders(new Uint8Array(4)).length).toBe(0);
  });
  it("round trip, UTF-8 included", () => {
    const back = decodeHeaders(encodeHeaders(pairs()));
    expect(back.length).toBe(4);
    for (let i = 0; i < 4; i++) {
      expect(back[i].key).toBe(pairs()[i].key);
      expect(back[i].value).toBe(pairs()[i].value);
    }
    expect(findHeader(back, "Content-Type")).toBe("application/json");
    expect(findHeader(back, "missing")).toBeNull();
  });
  it("finds names with ASCII letters case-folded, nothing else", () => {
    const h = [new HeaderPair("X-Mixed", "1"), new HeaderPair("x-Ä", "2"), new HeaderPair("x-[", "3")];
    expect(findHeader(h, "x-mIXED")).toBe("1");
    expect(findHeader(h, "X-MIXED")).toBe("1");
    expect(findHeader(h, "x-mixe")).toBeNull();
    expect(findHeader(h, "x-ä")).toBeNull();
    expect(findHeader(h, "X-Ä")).toBe("2");
    expect(findHeader(h, "x-{")).toBeNull();
    expect(findHeader(h, "X-[")).toBe("3");
  });
  it("malformed maps never trap", () => {
    const good = encodeHeaders(pairs());
    for (let cut = 0; cut < good.length; cut++) {
      const part = good.subarray(0, cut);
      expect(decodeHeaders(part).length <= 4).toBe(true);
    }
    const huge = new Uint8Array(12);
    huge[0] = 0xff;
    huge[1] = 0xff;
    huge[2] = 0xff;
    huge[3] = 0xff;
    expect(decodeHeaders(huge).length).toBe(0);
    const lies = new Uint8Array(20);
    lies[0] = 1;
    lies[4] = 0xff;
    lies[5] = 0xff;
    lies[6] = 0xff;
    lies[7] = 0x7f;
    expect(decodeHeaders(lies).length).toBe(0);
  });
});

describe("asciiLower", () => {
  it("lower-cases ASCII letters only", () => {
    expect(asciiLower("Content-Type")).toBe("content-type");
    expect(asciiLower("already")).toBe("already");
    expect(asciiLower("")).toBe("");
    expect(asciiLower("ÄBC-中文")).toBe("Äbc-中文");
    expect(asciiLower("@[`{")).toBe("@[`{");
  });
});
