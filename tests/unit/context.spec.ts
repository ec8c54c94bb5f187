// The ABI layer's HTTP-call routing: a stream that ends while its call is out
// drops the call's target at once, and the late answer is ignored.
export { malloc } from "../../assembly/proxy/hostcalls";
import {
  HttpCallResponse,
  HttpCallTarget,
  createContext,
  deleteContext,
  getHttpContext,
  getRootContext,
} from "../../assembly/proxy";
import { fakehostReset } from "./fakehost";

let answered = 0;

class Target extends HttpCallTarget {
  payload: Uint8Array = new Uint8Array(100000);
  onHttpCallResponse(response: HttpCallResponse): void {
    answered++;
  }
}

function call(streamId: u32): u32 {
  const root = getRootContext(1)!;
  const stream = getHttpContext(streamId)!;
  const d = root.dispatchHttpCall(stream, "outbound|443||d.dns", [], new Uint8Array(0), 1000, new Target());
  expect(d.result).toBe(0);
  return d.token;
}

describe("calls of a stream that ended", () => {
  beforeEach(() => {
    fakehostReset();
    answered = 0;
  });

  it("an answered call reaches its target", () => {
    createContext(1, 0);
    createContext(2, 1);
    const token = call(2);
    expect(getHttpContext(2)!.callTokens.length).toBe(1);
    getRootContext(1)!.onHttpCallResponse(token, 0, 0, 0);
    expect(answered).toBe(1);
    expect(getHttpContext(2)!.callTokens.length).toBe(0);
    expect(getRootContext(1)!.pendingCallCount).toBe(0);
    deleteContext(2);
  });

  it("a deleted stream's call: the target is dropped at once, the late answer ignored", () => {
    createContext(1, 0);
    createContext(3, 1);
    const t1 = call(3);
    const t2 = call(3);
    expect(getRootContext(1)!.pendingCallCount).toBe(2);
    deleteContext(3);
    expect(getRootContext(1)!.pendingCallCount).toBe(
      0,
      "the calls (and what their targets hold) are let go with the stream",
    );
    expect(getHttpContext(3)).toBeNull();
    getRootContext(1)!.onHttpCallResponse(t1, 0, 0, 0);
    getRootContext(1)!.onHttpCallResponse(t2, 0, 0, 0);
    expect(answered).toBe(0);
  });

  it("only the deleted stream's calls are dropped", () => {
    createContext(1, 0);
    createContext(4, 1);
    createContext(5, 1);
    const a = call(4);
    const b = call(5);
    deleteContext(4);
    expect(getRootContext(1)!.pendingCallCount).toBe(1);
    getRootContext(1)!.onHttpCallResponse(b, 0, 0, 0);
    getRootContext(1)!.onHttpCallResponse(a, 0, 0, 0);
    expect(answered).toBe(1);
    deleteContext(5);
  });
});

describe("an HTTP call's answer", () => {
  it("is too large when its announced size is over what was read, 2 GiB and more included", () => {
    expect(new HttpCallResponse(200, [], new Uint8Array(0), 0).bodyTooLarge).toBe(false);
    expect(new HttpCallResponse(200, [], new Uint8Array(3), 3).bodyTooLarge).toBe(false);
    expect(new HttpCallResponse(200, [], new Uint8Array(0), 3).bodyTooLarge).toBe(true);
    expect(new HttpCallResponse(200, [], new Uint8Array(0), 0x80000000).bodyTooLarge).toBe(true);
    expect(new HttpCallResponse(200, [], new Uint8Array(0), u32.MAX_VALUE).bodyTooLarge).toBe(true);
  });
});
