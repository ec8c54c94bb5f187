import { sha256, toHex, equalsConstantTime } from "../../assembly/higress";

function hashOf(s: string): string {
  return toHex(sha256(Uint8Array.wrap(String.UTF8.encode(s))));
}

describe("sha256", () => {
  it("FIPS 180-4 examples", () => {
    expect(hashOf("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(hashOf("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe(
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
    );
  });
  it("lengths around the 64-byte block and its 9 bytes of padding", () => {
    expect(hashOf("a".repeat(55))).toBe("9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
    expect(hashOf("a".repeat(56))).toBe("b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
    expect(hashOf("a".repeat(63))).toBe("7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34");
    expect(hashOf("a".repeat(64))).toBe("ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
    expect(hashOf("a".repeat(65))).toBe("635361c48bb9eab14198e76ea8ab7f1a41685d6ad62aa9146d301d4f17eb0ae0");
    expect(hashOf("a".repeat(1000))).toBe("41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3");
  });
  it("toHex of a prefix", () => {
    const d = sha256(Uint8Array.wrap(String.UTF8.encode("abc")));
    expect(toHex(d, 4)).toBe("ba7816bf");
    expect(toHex(d, 100).length).toBe(64);
  });
});

describe("equalsConstantTime", () => {
  it("equal, different, different lengths, empty", () => {
    expect(equalsConstantTime("0123abcd", "0123abcd")).toBe(true);
    expect(equalsConstantTime("0123abcd", "0123abce")).toBe(false);
    expect(equalsConstantTime("1123abcd", "0123abcd")).toBe(false);
    expect(equalsConstantTime("0123", "0123abcd")).toBe(false);
    expect(equalsConstantTime("", "")).toBe(true);
    expect(equalsConstantTime("", "1")).toBe(false);
  });
});
