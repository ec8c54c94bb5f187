// The route cache: request-header edits clear it (unless the stream's
// clear_route_cache property is "off"), and a cleared cache makes the router
// match the route again when the request headers go upstream.

import { copyPairs } from "../header-map.ts";
import type { Chain } from "./chain.ts";
import { applyLocalResponse, makeLocalResponse, requestLocalResponse } from "./replies.ts";
import type { StreamState } from "./state.ts";

/** A request-header edit (add/replace/remove/set pairs on map 0): clears the route cache unless turned off. */
export function requestHeadersEdited(s: StreamState): void {
  if (!s.clearRouteCache) return;
  s.routeCacheClears++;
  s.routeStale = true;
}

/**
 * The router picks the route when the request headers go upstream; a
 * cleared route cache makes it match again on the edited headers. No
 * match: Envoy's router answers 404 (route_not_found). Returns false then.
 */
export function routeBeforeUpstream(c: Chain, s: StreamState): boolean {
  if (!s.routeStale || !s.resolveRoute) return true;
  s.routeStale = false;
  const match = s.resolveRoute(copyPairs(s.req.map));
  if (match) {
    s.routeName = match.routeName;
    s.clusterName = match.clusterName;
    return true;
  }
  s.routeName = undefined;
  s.clusterName = undefined;
  s.req.headers = "released"; // the router consumed them
  const lr = makeLocalResponse(404, new Uint8Array(0), [], "route_not_found", -1);
  if (requestLocalResponse(s, lr)) applyLocalResponse(c, s);
  return false;
}
