// Loads plugin-config.schema.json and compiles it with ajv in strict mode; collects the
// plugin configurations found in the YAML examples. Shared by the tests in this folder.
import { Ajv } from "ajv";
import { parseAllDocuments } from "yaml";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const SCHEMA_PATH = join(root, "plugin-config.schema.json");

export function loadSchema(): any {
  return JSON.parse(readFileSync(SCHEMA_PATH, "utf8"));
}

/** ajv in strict mode, taught the schema's one annotation keyword, x-description-zh. */
export function strictAjv(): Ajv {
  const ajv = new Ajv({ strict: true, allErrors: true });
  ajv.addKeyword({ keyword: "x-description-zh", schemaType: "string" });
  return ajv;
}

export type Check = (config: unknown) => { valid: boolean; errors: string };

let compiled: Check | null = null;

/** The compiled schema as a function returning validity and readable errors. */
export function schemaCheck(): Check {
  if (compiled) return compiled;
  const validate = strictAjv().compile(loadSchema());
  compiled = (config: unknown) => {
    const valid = validate(config) as boolean;
    const errors = (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message}`).join("; ");
    return { valid, errors };
  };
  return compiled;
}

/** Every *.yaml / *.yml file under examples/, as paths relative to the repo root. */
export function exampleFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ya?ml$/.test(entry.name)) found.push(relative(root, path));
    }
  };
  walk(join(root, "examples"));
  return found.sort();
}

export interface ExampleConfig {
  /** Where it comes from, e.g. "examples/higress/wasmplugin.yaml: WasmPlugin ai-json-mode, matchRules[0]". */
  where: string;
  config: unknown;
}

export interface ParsedExample {
  file: string;
  errors: string[];
  configs: ExampleConfig[];
}

const MATCH_KEYS: Array<[string, string]> = [
  ["ingress", "_match_route_"],
  ["domain", "_match_domain_"],
  ["service", "_match_service_"],
];

function isOurs(doc: any): boolean {
  return `${doc?.metadata?.name ?? ""} ${doc?.spec?.url ?? ""}`.includes("ai-json-mode");
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The plugin configurations a YAML example holds:
 * - a document with `plugin.config` (the local host's files): that config;
 * - an ai-json-mode `WasmPlugin`: the configuration Higress hands the plugin
 *   (defaultConfig plus one `_rules_` entry per matchRule: ingress -> _match_route_,
 *   domain -> _match_domain_, service -> _match_service_), and each rule's effective
 *   configuration (defaultConfig overlaid with the rule's config).
 * Other documents (McpBridge, Ingress, other plugins) hold none.
 */
export function parseExample(file: string): ParsedExample {
  const text = readFileSync(join(root, file), "utf8");
  const result: ParsedExample = { file, errors: [], configs: [] };
  parseAllDocuments(text).forEach((document, index) => {
    const docErrors = "errors" in document ? document.errors : [];
    for (const e of docErrors) result.errors.push(`document ${index}: ${e.message}`);
    if (docErrors.length > 0) return;
    const doc: any = document.toJS();
    if (isObject(doc?.plugin) && "config" in doc.plugin) {
      result.configs.push({ where: `${file}: plugin.config`, config: doc.plugin.config });
    }
    if (doc?.kind === "WasmPlugin" && isOurs(doc)) {
      const name = `${file}: WasmPlugin ${doc.metadata?.name}`;
      const spec = doc.spec ?? {};
      const global = isObject(spec.defaultConfig) && spec.defaultConfigDisable !== true ? spec.defaultConfig : {};
      const rules: unknown[] = [];
      (Array.isArray(spec.matchRules) ? spec.matchRules : []).forEach((rule: any, i: number) => {
        const present = MATCH_KEYS.filter(([key]) => rule?.[key] !== undefined);
        if (present.length !== 1) {
          result.errors.push(`${name}, matchRules[${i}]: needs exactly one of ingress, domain, service`);
          return;
        }
        const [key, matcher] = present[0];
        const config = isObject(rule.config) ? rule.config : {};
        rules.push({ ...config, [matcher]: rule[key] });
        result.configs.push({
          where: `${name}, matchRules[${i}] over defaultConfig`,
          config: { ...global, ...config },
        });
      });
      result.configs.unshift({
        where: `${name}, as delivered to the plugin`,
        config: rules.length > 0 ? { ...global, _rules_: rules } : global,
      });
    }
  });
  return result;
}
