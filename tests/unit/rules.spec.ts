import { parseJsonString } from "../../assembly/json";
import { parseRuleSet, RuleSet, MatchInput } from "../../assembly/higress";
import { parseJsonModeConfig, JsonModeConfig } from "../../assembly/jsonmode/config";

function rules(text: string): RuleSet<JsonModeConfig> {
  const p = parseJsonString(text);
  expect(p.ok).toBe(true, "test input must be JSON");
  return parseRuleSet<JsonModeConfig>(p.value!, parseJsonModeConfig);
}

const G = '"url":"/v1/chat/completions","apiKey":"k-global","serviceFQDN":"deepseek.dns"';

function req(route: string, authority: string = "", cluster: string = ""): MatchInput {
  return new MatchInput(route, authority, cluster);
}

describe("_rules_", () => {
  it("a rule's config is the global fields overlaid with its own", () => {
    const set = rules("{" + G + ',"model":"g","_rules_":[{"_match_route_":["r1"],"model":"m1","apiKey":"k1"}]}');
    expect(set.ok).toBe(true);
    const c = set.match(req("r1"))!;
    expect(c.model).toBe("m1");
    expect(c.apiKey).toBe("k1");
    expect(c.serviceFQDN).toBe("deepseek.dns");
    expect(set.match(req("other"))!.model).toBe("g");
  });
  it("first matching rule wins", () => {
    const set = rules(
      "{" + G + ',"_rules_":[{"_match_route_prefix_":["api-"],"model":"a"},{"_match_route_":["api-x"],"model":"b"}]}',
    );
    expect(set.match(req("api-x"))!.model).toBe("a");
  });
  it("incomplete global fields: only matching requests are served", () => {
    const set = rules("{" + G + ',"_rules_":[{"_match_route_":["r1"],"model":"m1"}]}');
    expect(set.ok).toBe(true);
    expect(set.match(req("r1"))!.model).toBe("m1");
    expect(set.match(req("r2"))).toBeNull();
  });
  it("only _rules_: unmatched requests untouched", () => {
    const set = rules('{"_rules_":[{"_match_route_":["r1"],' + G + ',"model":"m"}]}');
    expect(set.ok).toBe(true);
    expect(set.match(req("r2"))).toBeNull();
    expect(set.match(req("r1"))!.model).toBe("m");
  });
  it("incomplete global and no rules is rejected", () => {
    expect(rules("{" + G + "}").error).toBe('model: required string, e.g. "deepseek-chat"');
    expect(rules("{" + G + ',"_rules_":[]}').error).toBe('model: required string, e.g. "deepseek-chat"');
    expect(rules("{}").ok).toBe(false);
  });
  it("global fields may be incomplete but not wrong", () => {
    expect(
      rules('{"servicePort":0,"_rules_":[{"_match_route_":["a"],' + G + ',"model":"m","servicePort":443}]}').error,
    ).toBe("servicePort: expected an integer port from 1 to 65535; got 0");
  });
  it("a bad rule names its index and the field", () => {
    expect(
      rules("{" + G + ',"model":"g","_rules_":[{"_match_route_":["a"]},{"_match_route_":["b"],"timeout":0}]}').error,
    ).toBe("_rules_[1]: timeout: expected an integer number of milliseconds from 1 to 600000; got 0");
    expect(rules('{"_rules_":[{"_match_route_":["a"],"model":"m"}]}').error).toBe(
      '_rules_[0]: url: required string, e.g. "https://api.deepseek.com/v1/chat/completions" or "/v1/chat/completions"',
    );
  });
  it("malformed rules reject the whole config", () => {
    expect(rules("{" + G + ',"model":"g","_rules_":{}}').error).toBe("_rules_: expected an array of rules");
    expect(rules("{" + G + ',"model":"g","_rules_":[1]}').error).toBe("_rules_[0]: expected an object");
    expect(rules("{" + G + ',"model":"g","_rules_":[{"model":"x"}]}').error).toBe(
      "_rules_[0]: needs one of _match_route_, _match_domain_, _match_service_, _match_route_prefix_",
    );
    expect(rules("{" + G + ',"model":"g","_rules_":[{"_match_route_":["a"],"_match_domain_":["b"]}]}').error).toBe(
      "_rules_[0]: exactly one matcher allowed, found _match_route_ and _match_domain_",
    );
    expect(rules("{" + G + ',"model":"g","_rules_":[{"_match_route_":"a"}]}').error).toBe(
      "_rules_[0]._match_route_: expected a non-empty array of strings",
    );
    expect(rules("{" + G + ',"model":"g","_rules_":[{"_match_route_":[]}]}').error).toBe(
      "_rules_[0]._match_route_: expected a non-empty array of strings",
    );
    expect(rules("{" + G + ',"model":"g","_rules_":[{"_match_route_":["a",2]}]}').error).toBe(
      "_rules_[0]._match_route_[1]: expected a non-empty string",
    );
  });
  it("domain, service and route-prefix matchers", () => {
    const set = rules(
      "{" +
        G +
        ',"_rules_":[' +
        '{"_match_domain_":["*.example.com"],"model":"dom"},' +
        '{"_match_service_":["qwen.dns:443"],"model":"svc"},' +
        '{"_match_route_prefix_":["ai-"],"model":"pre"}]}',
    );
    expect(set.ok).toBe(true);
    expect(set.match(req("x", "api.example.com:8080"))!.model).toBe("dom");
    expect(set.match(req("x", "other.org", "outbound|443||qwen.dns"))!.model).toBe("svc");
    expect(set.match(req("x", "other.org", "outbound|80||qwen.dns"))).toBeNull();
    expect(set.match(req("ai-chat", "other.org"))!.model).toBe("pre");
  });
  it("warnings carry the rule index", () => {
    const set = rules("{" + G + ',"model":"g","_rules_":[{"_match_route_":["a"],"extra":1}]}');
    expect(set.ok).toBe(true);
    expect(set.warnings[0]).toBe('_rules_[0]: unknown field "extra" ignored');
  });
});
