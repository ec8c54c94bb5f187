// Envoy cluster names for the kinds of services Higress registers
// (McpBridge registries and Kubernetes), as used by proxy_http_call.

/** A service the plugin can call: its Envoy cluster name and default host. */
export abstract class Cluster {
  abstract clusterName(): string;
  /** The default `:authority` of a call to this cluster. */
  abstract hostName(): string;
}

/** Envoy's `outbound|<port>|<subset>|<fqdn>`; the subset is a service version, or empty. */
function outbound(port: i64, fqdn: string, subset: string = ""): string {
  return "outbound|" + port.toString() + "|" + subset + "|" + fqdn;
}

/** Any service by its FQDN as shown in the console, e.g. `deepseek.dns`. */
export class FQDNCluster extends Cluster {
  constructor(
    public fqdn: string,
    public port: i64,
    public host: string = "",
  ) {
    super();
  }
  clusterName(): string {
    return outbound(this.port, this.fqdn);
  }
  hostName(): string {
    return this.host.length > 0 ? this.host : this.fqdn;
  }
}

/** A DNS service registered under `serviceName` (McpBridge type dns). */
export class DnsCluster extends Cluster {
  constructor(
    public serviceName: string,
    public domain: string,
    public port: i64,
  ) {
    super();
  }
  clusterName(): string {
    return outbound(this.port, this.serviceName + ".dns");
  }
  hostName(): string {
    return this.domain;
  }
}

/** A static-address service (McpBridge type static). */
export class StaticIpCluster extends Cluster {
  constructor(
    public serviceName: string,
    public port: i64,
    public host: string = "",
  ) {
    super();
  }
  clusterName(): string {
    return outbound(this.port, this.serviceName + ".static");
  }
  hostName(): string {
    return this.host.length > 0 ? this.host : this.serviceName;
  }
}

/** A Kubernetes Service. */
export class K8sCluster extends Cluster {
  constructor(
    public serviceName: string,
    public namespace: string,
    public port: i64,
    public version: string = "",
    public host: string = "",
  ) {
    super();
  }
  clusterName(): string {
    return outbound(this.port, this.serviceName + "." + this.namespace + ".svc.cluster.local", this.version);
  }
  hostName(): string {
    return this.host.length > 0 ? this.host : this.serviceName + "." + this.namespace + ".svc.cluster.local";
  }
}

/** A Nacos service. */
export class NacosCluster extends Cluster {
  constructor(
    public serviceName: string,
    public group: string,
    public namespaceId: string,
    public port: i64,
    public version: string = "",
    public host: string = "",
  ) {
    super();
  }
  /** Envoy names cannot hold `_`, so Nacos groups are written with `-` (DEFAULT_GROUP -> DEFAULT-GROUP). */
  clusterName(): string {
    const group = this.group.length > 0 ? this.group.replaceAll("_", "-") : "DEFAULT-GROUP";
    return outbound(this.port, this.serviceName + "." + group + "." + this.namespaceId + ".nacos", this.version);
  }
  hostName(): string {
    return this.host.length > 0 ? this.host : this.serviceName;
  }
}

/** A Consul service. */
export class ConsulCluster extends Cluster {
  constructor(
    public serviceName: string,
    public datacenter: string,
    public port: i64,
    public host: string = "",
  ) {
    super();
  }
  clusterName(): string {
    return outbound(this.port, this.serviceName + "." + this.datacenter + ".consul");
  }
  hostName(): string {
    return this.host.length > 0 ? this.host : this.serviceName;
  }
}

/** The request's own upstream: the route's `cluster_name` property. */
export class RouteCluster extends Cluster {
  /** `name` is the request's `cluster_name` property (see routeClusterName()). */
  constructor(
    public name: string,
    public host: string = "",
  ) {
    super();
  }
  clusterName(): string {
    return this.name;
  }
  hostName(): string {
    return this.host;
  }
}
