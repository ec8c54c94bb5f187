// Higress per-route configuration: `_rules_`.
//   { ...global fields..., "_rules_": [ { ...fields..., "_match_route_": ["r1"] }, ... ] }
// A rule carries exactly one matcher. The first matching rule wins; the global
// fields serve the other requests when they form a complete config on their
// own. A malformed rule rejects the whole configuration.

import { JsonValue, asciiLower, jsonObject } from "../json";
import { stripPort } from "./url";

export const RULES_KEY = "_rules_";
export const MATCH_ROUTE = "_match_route_";
export const MATCH_DOMAIN = "_match_domain_";
export const MATCH_SERVICE = "_match_service_";
export const MATCH_ROUTE_PREFIX = "_match_route_prefix_";

export enum MatchKind {
  Route,
  Domain,
  Service,
  RoutePrefix,
}

/** Outcome of parsing one config object. */
export class ParseResult<C> {
  warnings: string[] = [];
  /** The only problem is a missing required field (a rule may complete the config). */
  incomplete: bool = false;
  constructor(
    public config: C | null,
    public error: string = "",
  ) {}
  get ok(): bool {
    return this.config !== null && this.error.length == 0;
  }
  static fail<C>(error: string): ParseResult<C> {
    return new ParseResult<C>(null, error);
  }
  static incomplete<C>(error: string): ParseResult<C> {
    const r = new ParseResult<C>(null, error);
    r.incomplete = true;
    return r;
  }
}

export class Rule<C> {
  constructor(
    public kind: MatchKind,
    public values: string[],
    public config: C,
  ) {}
}

/** What a request offers to the matchers. */
export class MatchInput {
  constructor(
    public routeName: string,
    /** Request `:authority`, port included or not. */
    public authority: string,
    /** `cluster_name` property: `outbound|port|subset|fqdn`. */
    public clusterName: string,
  ) {}
}

function isMatchKey(k: string): bool {
  return k == MATCH_ROUTE || k == MATCH_DOMAIN || k == MATCH_SERVICE || k == MATCH_ROUTE_PREFIX;
}

function matchKind(k: string): MatchKind {
  if (k == MATCH_ROUTE) return MatchKind.Route;
  if (k == MATCH_DOMAIN) return MatchKind.Domain;
  if (k == MATCH_SERVICE) return MatchKind.Service;
  return MatchKind.RoutePrefix;
}

/** `global` overlaid with the rule's own fields; matchers and `_rules_` left out. */
export function overlay(global: JsonValue, rule: JsonValue): JsonValue {
  const keys = new Array<string>();
  const values = new Array<JsonValue>();
  const gk = global.keys();
  for (let i = 0; i < gk.length; i++) {
    const k = gk[i];
    if (k == RULES_KEY || isMatchKey(k) || rule.has(k)) continue;
    keys.push(k);
    values.push(global.get(k)!);
  }
  const rk = rule.keys();
  for (let i = 0; i < rk.length; i++) {
    const k = rk[i];
    if (k == RULES_KEY || isMatchKey(k)) continue;
    keys.push(k);
    values.push(rule.get(k)!);
  }
  return jsonObject(keys, values);
}

/** The global fields alone (without `_rules_`). */
export function globalPart(json: JsonValue): JsonValue {
  const keys = new Array<string>();
  const values = new Array<JsonValue>();
  const gk = json.keys();
  for (let i = 0; i < gk.length; i++) {
    if (gk[i] == RULES_KEY) continue;
    keys.push(gk[i]);
    values.push(json.get(gk[i])!);
  }
  return jsonObject(keys, values);
}

/** Domain pattern match: `*.example.com` suffix, `example.*` prefix, else exact; case-insensitive, port ignored. */
export function matchDomain(pattern: string, authority: string): bool {
  const host = asciiLower(stripPort(authority));
  const p = asciiLower(pattern);
  if (p.startsWith("*")) return host.endsWith(p.substring(1));
  if (p.endsWith("*")) return host.startsWith(p.substring(0, p.length - 1));
  return host == p;
}

/** Service match against `outbound|port|subset|fqdn`: `fqdn` or `fqdn:port`. */
export function matchService(pattern: string, clusterName: string): bool {
  const parts = clusterName.split("|");
  if (parts.length != 4) return false;
  const port = parts[1];
  const fqdn = parts[3];
  const colon = pattern.lastIndexOf(":");
  if (colon > 0) {
    return pattern.substring(0, colon) == fqdn && pattern.substring(colon + 1) == port;
  }
  return pattern == fqdn;
}

export class RuleSet<C> {
  rules: Rule<C>[] = [];
  global: C | null = null;
  /** Why the global fields alone do not serve requests (for logs). */
  globalReason: string = "";
  warnings: string[] = [];
  error: string = "";

  get ok(): bool {
    return this.error.length == 0;
  }

  /** Bit (1 << kind) set for each matcher kind some rule uses: which request attributes to read. */
  kinds: i32 = 0;

  /** True when a matcher needs the given request attribute. */
  needs(kind: MatchKind): bool {
    return (this.kinds & (1 << (<i32>kind))) != 0;
  }

  /** The config for a request: first matching rule, else the global config, else null. */
  match(input: MatchInput): C | null {
    for (let i = 0; i < this.rules.length; i++) {
      const r = this.rules[i];
      for (let j = 0; j < r.values.length; j++) {
        const v = r.values[j];
        let hit = false;
        switch (r.kind) {
          case MatchKind.Route:
            hit = input.routeName == v;
            break;
          case MatchKind.RoutePrefix:
            hit = input.routeName.startsWith(v);
            break;
          case MatchKind.Domain:
            hit = matchDomain(v, input.authority);
            break;
          case MatchKind.Service:
            hit = matchService(v, input.clusterName);
            break;
        }
        if (hit) return r.config;
      }
    }
    return this.global;
  }
}

/**
 * Parses a whole plugin configuration with `parse` for each effective config.
 * The result's `error` names the rule index and the field when a rule is bad.
 */
export function parseRuleSet<C>(json: JsonValue, parse: (config: JsonValue) => ParseResult<C>): RuleSet<C> {
  const set = new RuleSet<C>();
  if (!json.isObject()) {
    set.error = "configuration: expected a JSON object";
    return set;
  }
  const rulesValue = json.get(RULES_KEY);
  const hasRules = rulesValue !== null;
  const global = globalPart(json);
  if (hasRules) {
    const rv = rulesValue!;
    if (!rv.isArray()) {
      set.error = RULES_KEY + ": expected an array of rules";
      return set;
    }
    for (let i = 0; i < rv.length; i++) {
      const where = RULES_KEY + "[" + i.toString() + "]";
      const rule = rv.at(i)!;
      if (!rule.isObject()) {
        set.error = where + ": expected an object";
        return set;
      }
      let matcher = "";
      const rk = rule.keys();
      for (let k = 0; k < rk.length; k++) {
        if (!isMatchKey(rk[k])) continue;
        if (matcher.length > 0) {
          set.error = where + ": exactly one matcher allowed, found " + matcher + " and " + rk[k];
          return set;
        }
        matcher = rk[k];
      }
      if (matcher.length == 0) {
        set.error =
          where +
          ": needs one of " +
          MATCH_ROUTE +
          ", " +
          MATCH_DOMAIN +
          ", " +
          MATCH_SERVICE +
          ", " +
          MATCH_ROUTE_PREFIX;
        return set;
      }
      const mv = rule.get(matcher)!;
      if (!mv.isArray() || mv.length == 0) {
        set.error = where + "." + matcher + ": expected a non-empty array of strings";
        return set;
      }
      const values = new Array<string>();
      for (let j = 0; j < mv.length; j++) {
        const e = mv.at(j)!;
        if (!e.isString() || e.length == 0) {
          set.error = where + "." + matcher + "[" + j.toString() + "]: expected a non-empty string";
          return set;
        }
        values.push(e.asString());
      }
      const parsed = parse(overlay(global, rule));
      if (!parsed.ok) {
        set.error = where + ": " + parsed.error;
        return set;
      }
      for (let w = 0; w < parsed.warnings.length; w++) set.warnings.push(where + ": " + parsed.warnings[w]);
      const kind = matchKind(matcher);
      set.kinds |= 1 << (<i32>kind);
      set.rules.push(new Rule<C>(kind, values, parsed.config!));
    }
  }
  // The global fields: required when there are no rules; optional otherwise.
  const noRules = set.rules.length == 0;
  if (noRules || global.length > 0) {
    const parsed = parse(global);
    if (parsed.ok) {
      set.global = parsed.config;
      for (let w = 0; w < parsed.warnings.length; w++) set.warnings.push(parsed.warnings[w]);
    } else if (noRules || !parsed.incomplete) {
      // Without rules the global config must be complete; with rules it may
      // lack required fields, but what it does set must be valid.
      set.error = parsed.error;
    } else {
      set.globalReason = parsed.error;
    }
  } else {
    set.globalReason = "no global fields";
  }
  return set;
}
