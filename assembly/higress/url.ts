// Splitting the `url` of an HTTP call into what proxy_http_call needs.

import { asciiLower } from "../json";

export class SplitUrl {
  constructor(
    /** "http", "https", or "" for a bare path. */
    public scheme: string,
    /** Host (with port if given) of an absolute URL; "" for a path. */
    public host: string,
    /** Path and query, always starting with "/". */
    public path: string,
  ) {}
}

/**
 * `https://api.deepseek.com/v1/chat/completions?x=1` -> ("https", "api.deepseek.com", "/v1/chat/completions?x=1");
 * `/v1/chat/completions` -> ("", "", "/v1/chat/completions"). Returns null for
 * anything else (no scheme and no leading slash, empty host, unknown scheme,
 * spaces or control characters).
 */
export function splitUrl(url: string): SplitUrl | null {
  if (url.length == 0) return null;
  for (let i = 0; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c <= 0x20 || c == 0x7f) return null;
  }
  if (url.charCodeAt(0) == 47 /* / */) {
    if (url.length > 1 && url.charCodeAt(1) == 47) return null; // "//host/..." is not a path
    return new SplitUrl("", "", url);
  }
  const sep = url.indexOf("://");
  if (sep <= 0) return null;
  const scheme = asciiLower(url.substring(0, sep));
  if (scheme != "http" && scheme != "https") return null;
  const rest = url.substring(sep + 3);
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c == 47 /* / */ || c == 63 /* ? */ || c == 35 /* # */) {
      end = i;
      break;
    }
  }
  let host = rest.substring(0, end);
  const at = host.lastIndexOf("@");
  if (at >= 0) host = host.substring(at + 1); // user-info is never sent as authority
  if (host.length == 0) return null;
  let path = rest.substring(end);
  const hash = path.indexOf("#");
  if (hash >= 0) path = path.substring(0, hash);
  if (path.length == 0) path = "/";
  else if (path.charCodeAt(0) == 63 /* ? */) path = "/" + path;
  return new SplitUrl(scheme, host, path);
}

/** Host without its port: `api.example.com:8443` -> `api.example.com`, `[::1]:80` -> `[::1]`. */
export function stripPort(host: string): string {
  if (host.startsWith("[")) {
    const close = host.indexOf("]");
    return close > 0 ? host.substring(0, close + 1) : host;
  }
  const colon = host.lastIndexOf(":");
  if (colon < 0) return host;
  for (let i = colon + 1; i < host.length; i++) {
    const c = host.charCodeAt(i);
    if (c < 48 || c > 57) return host;
  }
  return host.substring(0, colon);
}
