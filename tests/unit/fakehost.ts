// Controls of the fake host in as-pect.config.mjs, for specs that need buffers,
// properties, a clock or HTTP calls. Such a spec also exports the allocator:
//   export { malloc } from "../../assembly/proxy/hostcalls";

@external("env", "fakehost_reset")
export declare function fakehostReset(): void;


@external("env", "fakehost_set_buffer")
declare function fakehost_set_buffer(type: u32, ptr: usize, len: usize): void;

/** Puts `text` (UTF-8) in buffer `type` (0 request body, 1 response body, ...). */
export function setBuffer(type: u32, text: string): void {
  const b = String.UTF8.encode(text);
  fakehost_set_buffer(type, changetype<usize>(b), b.byteLength);
}

/** Number of proxy_set_property calls since the last reset. */
@external("env", "fakehost_property_sets")
export declare function propertySets(): u32;

/** Sets what proxy_get_current_time_nanoseconds returns. */
@external("env", "fakehost_set_time")
export declare function setTime(ns: u64): void;
