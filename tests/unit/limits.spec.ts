// The configuration fields for Higress's limits (maxBodyBytes, totalTimeout),
// the time-budget warnings, and which 502s tell clients not to retry.
import { parseJsonString } from "../../assembly/json";
import {
  parseJsonModeConfig,
  JsonModeConfig,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_TOTAL_TIMEOUT_MS,
} from "../../assembly/jsonmode/config";
import { ParseResult } from "../../assembly/higress";
import { retryCanHelp } from "../../assembly/jsonmode/plugin";
import { Failure, FailureCode, FAILURE_CODES } from "../../assembly/jsonmode/failure";

const BASE = '"url":"/v1/chat/completions","model":"m","apiKey":"sk-x","serviceFQDN":"d.dns"';

function parse(extra: string): ParseResult<JsonModeConfig> {
  return parseJsonModeConfig(parseJsonString("{" + BASE + (extra.length > 0 ? "," + extra : "") + "}").value!);
}

describe("maxBodyBytes", () => {
  it("defaults to 10 MiB", () => {
    expect(parse("").config!.maxBodyBytes).toBe(DEFAULT_MAX_BODY_BYTES);
    expect(DEFAULT_MAX_BODY_BYTES).toBe(10485760);
  });
  it("1 KiB to 64 MiB", () => {
    expect(parse('"maxBodyBytes":1024').config!.maxBodyBytes).toBe(1024);
    expect(parse('"maxBodyBytes":67108864').config!.maxBodyBytes).toBe(67108864);
    expect(parse('"maxBodyBytes":1023').error).toBe(
      "maxBodyBytes: expected an integer number of bytes from 1024 to 67108864; got 1023",
    );
    expect(parse('"maxBodyBytes":67108865').ok).toBe(false);
    expect(parse('"maxBodyBytes":"10MB"').error.startsWith("maxBodyBytes:")).toBe(true);
    expect(parse('"maxBodyBytes":2048.5').ok).toBe(false);
  });
  it("is a known field", () => {
    expect(parse('"maxBodyBytes":4096').warnings.length).toBe(0);
  });
});

describe("totalTimeout", () => {
  it("defaults to 120000 ms, with no warning beside the default timeout", () => {
    const r = parse("");
    expect(r.config!.totalTimeout).toBe(DEFAULT_TOTAL_TIMEOUT_MS);
    expect(DEFAULT_TOTAL_TIMEOUT_MS).toBe(120000);
    expect(r.warnings.length).toBe(0);
  });
  it("1000 to 600000 ms", () => {
    expect(parse('"totalTimeout":1000,"timeout":500').config!.totalTimeout).toBe(1000);
    expect(parse('"totalTimeout":999').error).toBe(
      "totalTimeout: expected an integer number of milliseconds from 1000 to 600000; got 999",
    );
    expect(parse('"totalTimeout":600001').ok).toBe(false);
    expect(parse('"totalTimeout":null').ok).toBe(false);
  });
  it("a budget that reaches Higress's idle timeout is accepted with a warning saying why", () => {
    const r = parse('"totalTimeout":180000');
    expect(r.ok).toBe(true);
    expect(r.warnings.length).toBe(1);
    expect(r.warnings[0]).toBe(
      "totalTimeout: 180000 ms is not below Higress's stream idle timeout (180000 ms by default): a response paused that long ends in a 504 from the gateway unless its idle timeout is raised",
    );
    expect(parse('"totalTimeout":179999').warnings.length).toBe(0);
  });
  it("a timeout that is not below the budget: accepted with a warning", () => {
    const r = parse('"timeout":600000');
    expect(r.ok).toBe(true);
    expect(r.warnings.length).toBe(1);
    expect(r.warnings[0].startsWith("timeout: 600000 ms is not below totalTimeout (120000 ms)")).toBe(true);
    expect(parse('"timeout":119999').warnings.length).toBe(0);
    expect(parse('"timeout":600000,"totalTimeout":600000').warnings.length).toBe(2);
  });
});

describe("x-should-retry: which failures a retry can fix", () => {
  it("every code but call_failed is final", () => {
    for (let i = 0; i < FAILURE_CODES.length; i++) {
      const code = FAILURE_CODES[i];
      expect(retryCanHelp(new Failure(code, ""), 0)).toBe(code == FailureCode.CallFailed, code);
    }
  });
  it("call_failed: no answer, 408, 429 and 5xx may pass later; other statuses will not", () => {
    const f = new Failure(FailureCode.CallFailed, "");
    expect(retryCanHelp(f, 0)).toBe(true);
    expect(retryCanHelp(f, 408)).toBe(true);
    expect(retryCanHelp(f, 429)).toBe(true);
    expect(retryCanHelp(f, 500)).toBe(true);
    expect(retryCanHelp(f, 503)).toBe(true);
    expect(retryCanHelp(f, 504)).toBe(true);
    expect(retryCanHelp(f, 400)).toBe(false);
    expect(retryCanHelp(f, 401)).toBe(false);
    expect(retryCanHelp(f, 404)).toBe(false);
  });
});
