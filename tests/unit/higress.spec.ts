import {
  FQDNCluster,
  DnsCluster,
  StaticIpCluster,
  K8sCluster,
  NacosCluster,
  ConsulCluster,
  RouteCluster,
  splitUrl,
  stripPort,
  matchDomain,
  matchService,
} from "../../assembly/higress";

describe("cluster names", () => {
  it("FQDN service", () => {
    const c = new FQDNCluster("deepseek.dns", 443);
    expect(c.clusterName()).toBe("outbound|443||deepseek.dns");
    expect(c.hostName()).toBe("deepseek.dns");
    expect(new FQDNCluster("deepseek.dns", 443, "api.deepseek.com").hostName()).toBe("api.deepseek.com");
  });
  it("DNS service", () => {
    const c = new DnsCluster("deepseek", "api.deepseek.com", 443);
    expect(c.clusterName()).toBe("outbound|443||deepseek.dns");
    expect(c.hostName()).toBe("api.deepseek.com");
  });
  it("static service", () => {
    expect(new StaticIpCluster("llm", 80).clusterName()).toBe("outbound|80||llm.static");
  });
  it("Kubernetes service", () => {
    const c = new K8sCluster("llm", "default", 8080);
    expect(c.clusterName()).toBe("outbound|8080||llm.default.svc.cluster.local");
    expect(c.hostName()).toBe("llm.default.svc.cluster.local");
  });
  it("Nacos service", () => {
    expect(new NacosCluster("llm", "DEFAULT_GROUP", "public", 8848).clusterName()).toBe(
      "outbound|8848||llm.DEFAULT-GROUP.public.nacos",
    );
    expect(new NacosCluster("llm", "", "ns1", 80).clusterName()).toBe("outbound|80||llm.DEFAULT-GROUP.ns1.nacos");
  });
  it("Consul service", () => {
    expect(new ConsulCluster("llm", "dc1", 8500).clusterName()).toBe("outbound|8500||llm.dc1.consul");
  });
  it("route cluster", () => {
    expect(new RouteCluster("outbound|443||qwen.dns").clusterName()).toBe("outbound|443||qwen.dns");
  });
});

describe("url splitting", () => {
  it("absolute https url", () => {
    const u = splitUrl("https://api.deepseek.com/v1/chat/completions")!;
    expect(u.scheme).toBe("https");
    expect(u.host).toBe("api.deepseek.com");
    expect(u.path).toBe("/v1/chat/completions");
  });
  it("absolute url with port, query and fragment", () => {
    const u = splitUrl("http://Example.com:8080/a/b?x=1&y=2#frag")!;
    expect(u.scheme).toBe("http");
    expect(u.host).toBe("Example.com:8080");
    expect(u.path).toBe("/a/b?x=1&y=2");
  });
  it("host only and query only", () => {
    expect(splitUrl("https://api.deepseek.com")!.path).toBe("/");
    expect(splitUrl("https://h?x=1")!.path).toBe("/?x=1");
  });
  it("user-info is dropped from the host", () => {
    expect(splitUrl("https://user:pw@h.example/p")!.host).toBe("h.example");
  });
  it("a path", () => {
    const u = splitUrl("/v1/chat/completions")!;
    expect(u.scheme).toBe("");
    expect(u.host).toBe("");
    expect(u.path).toBe("/v1/chat/completions");
  });
  it("rejects what is neither", () => {
    expect(splitUrl("")).toBeNull();
    expect(splitUrl("v1/chat")).toBeNull();
    expect(splitUrl("ftp://h/x")).toBeNull();
    expect(splitUrl("https:///x")).toBeNull();
    expect(splitUrl("//h/x")).toBeNull();
    expect(splitUrl("/a b")).toBeNull();
    expect(splitUrl("/a\nb")).toBeNull();
  });
  it("strips ports", () => {
    expect(stripPort("a.com:443")).toBe("a.com");
    expect(stripPort("a.com")).toBe("a.com");
    expect(stripPort("[::1]:80")).toBe("[::1]");
    expect(stripPort("a:b")).toBe("a:b");
  });
});

describe("rule matchers", () => {
  it("domains: exact, suffix, prefix, case and port", () => {
    expect(matchDomain("api.example.com", "api.example.com:8080")).toBe(true);
    expect(matchDomain("api.example.com", "API.Example.com")).toBe(true);
    expect(matchDomain("*.example.com", "a.b.example.com")).toBe(true);
    expect(matchDomain("*.example.com", "example.com")).toBe(false);
    expect(matchDomain("example.*", "example.org")).toBe(true);
    expect(matchDomain("example.*", "www.example.org")).toBe(false);
    expect(matchDomain("api.example.com", "api.example.co")).toBe(false);
  });
  it("services: fqdn and fqdn:port", () => {
    expect(matchService("qwen.dns", "outbound|443||qwen.dns")).toBe(true);
    expect(matchService("qwen.dns:443", "outbound|443||qwen.dns")).toBe(true);
    expect(matchService("qwen.dns:80", "outbound|443||qwen.dns")).toBe(false);
    expect(matchService("qwen.dns", "outbound|443||other.dns")).toBe(false);
    expect(matchService("qwen.dns", "garbage")).toBe(false);
  });
});
