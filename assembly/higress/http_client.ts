// HTTP calls to an Envoy cluster, Higress style:
//   const client = new ClusterClient(new FQDNCluster("deepseek.dns", 443));
//   client.post(ctx, "https://api.deepseek.com/v1/chat/completions", headers, body, target, 50000);
// The call is made for the stream `ctx`; the answer is delivered to `target`
// with that stream as effective context.

import {
  Headers,
  HeaderPair,
  HttpCallTarget,
  WasmResultValues,
  HttpCallDispatch,
  HttpContext as StreamContext,
  findHeader,
} from "../proxy";
import { asciiLower } from "../json";
import { Cluster } from "./cluster";
import { splitUrl } from "./url";

export class ClusterClient {
  constructor(public cluster: Cluster) {}

  /**
   * Builds the call's headers: `:method`, `:path` from the url, `:authority`
   * from (in order) the caller's own `:authority`/`host` header, the url's host,
   * the cluster's default host. Returns null when the url is not usable.
   */
  buildHeaders(method: string, url: string, headers: Headers): Headers | null {
    const u = splitUrl(url);
    if (u === null) return null;
    let authority: string | null = findHeader(headers, ":authority");
    if (authority === null || authority.length == 0) authority = findHeader(headers, "host");
    if (authority === null || authority.length == 0) authority = u.host.length > 0 ? u.host : this.cluster.hostName();
    const out = new Array<HeaderPair>();
    out.push(new HeaderPair(":method", method));
    out.push(new HeaderPair(":path", u.path));
    out.push(new HeaderPair(":authority", authority!));
    for (let i = 0; i < headers.length; i++) {
      const k = asciiLower(headers[i].key);
      if (k == ":method" || k == ":path" || k == ":authority" || k == "host" || k == "content-length") continue;
      out.push(new HeaderPair(k, headers[i].value));
    }
    return out;
  }

  /**
   * Sends a request on behalf of `stream` (a Higress HttpContext is one). The
   * result is the host's verdict: BadArgument for an unknown cluster or an
   * unusable url; on Ok, `target` gets the answer later, with `stream` as the
   * effective context.
   */
  call(
    stream: StreamContext,
    method: string,
    url: string,
    headers: Headers,
    body: Uint8Array,
    target: HttpCallTarget,
    timeoutMs: u32,
  ): HttpCallDispatch {
    const h = this.buildHeaders(method, url, headers);
    if (h === null) return new HttpCallDispatch(WasmResultValues.BadArgument, 0);
    return stream.root.dispatchHttpCall(stream, this.cluster.clusterName(), h, body, timeoutMs, target);
  }

  post(
    stream: StreamContext,
    url: string,
    headers: Headers,
    body: Uint8Array,
    target: HttpCallTarget,
    timeoutMs: u32,
  ): HttpCallDispatch {
    return this.call(stream, "POST", url, headers, body, target, timeoutMs);
  }

  get(stream: StreamContext, url: string, headers: Headers, target: HttpCallTarget, timeoutMs: u32): HttpCallDispatch {
    return this.call(stream, "GET", url, headers, new Uint8Array(0), target, timeoutMs);
  }
}
