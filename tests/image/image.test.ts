// The deployment path end to end, against a real registry: the README's commands
// (`npm run image -- <ref>`, `npm run image:push -- <ref> --tls-verify=false`) build
// the image with buildah and push it to Debian's docker-registry on 127.0.0.1; skopeo
// pulls it back into an OCI layout, and the layer must hold build/plugin.wasm byte for
// byte. A second build from scratch must give the same digest.
//
// Needs the Debian packages buildah, skopeo and docker-registry (.ci/run installs them).
// Without them the two tests that use them are skipped, the skip saying what is missing
// and how to install it; under CI (CI set, and not "false" or "0") they are required and
// fail with the same words. buildah runs with a storage
// under a temporary directory (CONTAINERS_STORAGE_CONF), removed at the end with the
// registry's data.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WASM = join(root, "build", "plugin.wasm");
const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";
const NEEDED: Array<[string, string[]]> = [
  ["buildah", ["--version"]],
  ["skopeo", ["--version"]],
  ["docker-registry", ["--version"]],
];

const INSTALL = "apt-get install -y buildah skopeo docker-registry";
const MISSING = NEEDED.filter(([cmd, args]) => spawnSync(cmd, args, { stdio: "ignore" }).error).map(([cmd]) => cmd);
const MISSING_LINE = `${MISSING.join(", ")} not found: install with \`${INSTALL}\` (.ci/run does)`;
const CI = !["", "0", "false"].includes((process.env.CI ?? "").toLowerCase());
/** The `skip` option of the tests that need the tools: skipped without them, except under CI. */
const needsTools = { skip: MISSING.length > 0 && !CI ? MISSING_LINE : false };

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolvePort(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((r) => {
    const timer = setTimeout(() => r(false), ms);
    child.once("exit", () => {
      clearTimeout(timer);
      r(true);
    });
  });
}

interface Ran {
  stdout: string;
  out: string;
}

/** Runs a command to completion; the assertion message carries its whole output. */
function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv): Ran {
  const r = spawnSync(cmd, args, { cwd: root, env, encoding: "utf8", timeout: 300_000 });
  const out = `${r.stdout ?? ""}${r.stderr ?? ""}`;
  assert.equal(r.error, undefined, `${cmd} ${args.join(" ")}: ${r.error?.message}`);
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")} exited with ${r.status}:\n${out}`);
  return { stdout: r.stdout ?? "", out };
}

/** The files of a tar archive (ustar, with pax path records honoured). */
function untar(tar: Buffer): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  let offset = 0;
  let paxPath: string | null = null;
  const text = (start: number, len: number) =>
    tar
      .subarray(start, start + len)
      .toString("utf8")
      .replace(/\0.*$/s, "");
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(text(offset + 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(header[156] || 0x30);
    const prefix = text(offset + 345, 155);
    const name = prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    if (type === "x") {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString("utf8"));
      paxPath = m ? m[1] : null;
    } else {
      const path = (paxPath ?? name).replace(/^\.?\//, "");
      paxPath = null;
      if (type === "0" || type === "\0") files.set(path, Buffer.from(body));
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

function digestOf(output: string, what: "image id" | "digest"): string {
  const m = new RegExp(`^image: .* ${what} (sha256:[0-9a-f]{64})$`, "m").exec(output);
  assert.ok(m, `no "${what} sha256:…" line in the output:\n${output}`);
  return m[1];
}

describe("OCI image: build, push to a local registry, pull back", () => {
  let tmp = "";
  let registry: ChildProcess | undefined;
  let env: NodeJS.ProcessEnv = {};
  let ref = "";
  const logFile = () => join(tmp, "registry.log");
  const registryLog = () => (existsSync(logFile()) ? readFileSync(logFile(), "utf8").slice(-4000) : "");

  // Set-up problems are reported by every test (a failing hook would not count as a
  // failed test in the runner's summary).
  let setupError: unknown = null;
  const ready = () => {
    if (setupError) throw setupError;
  };

  before(async () => {
    if (needsTools.skip) return;
    try {
      await setUp();
    } catch (err) {
      setupError = err;
    }
  });

  async function setUp(): Promise<void> {
    if (MISSING.length > 0) throw new Error(MISSING_LINE);
    if (!existsSync(WASM)) {
      throw new Error("build/plugin.wasm is missing: run `npm run build` first (npm test builds it before the tests)");
    }

    tmp = mkdtempSync(join(tmpdir(), "ai-json-mode-image-test-"));
    const port = await freePort();
    ref = `127.0.0.1:${port}/ai-json-mode:test`;
    writeFileSync(
      join(tmp, "registry.yml"),
      [
        "version: 0.1",
        "log:",
        "  level: warn",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${join(tmp, "registry")}`,
        "http:",
        `  addr: 127.0.0.1:${port}`,
        "",
      ].join("\n"),
    );
    writeFileSync(
      join(tmp, "storage.conf"),
      [
        "[storage]",
        'driver = "vfs"',
        `graphroot = "${join(tmp, "storage")}"`,
        `runroot = "${join(tmp, "run")}"`,
        "",
      ].join("\n"),
    );
    env = { ...process.env, CONTAINERS_STORAGE_CONF: join(tmp, "storage.conf"), IMAGE_TOOL: "buildah" };

    const log = openSync(logFile(), "a");
    let spawnError: Error | null = null;
    registry = spawn("docker-registry", ["serve", join(tmp, "registry.yml")], { stdio: ["ignore", log, log] });
    registry.on("error", (err) => (spawnError = err));
    closeSync(log);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (spawnError) throw new Error(`docker-registry could not start: ${(spawnError as Error).message}`);
      if (registry.exitCode !== null)
        throw new Error(`docker-registry exited with ${registry.exitCode}:\n${registryLog()}`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v2/`);
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(`docker-registry did not answer on 127.0.0.1:${port}:\n${registryLog()}`);
      await sleep(100);
    }
  }

  after(async () => {
    if (registry?.pid !== undefined && registry.exitCode === null && registry.signalCode === null) {
      process.kill(registry.pid, "SIGTERM");
      if (!(await exited(registry, 5_000))) {
        process.kill(registry.pid, "SIGKILL");
        await exited(registry, 5_000);
      }
    }
    if (tmp) {
      if (ref) spawnSync("buildah", ["--storage-driver", "vfs", "rmi", "-f", ref], { env, stdio: "ignore" });
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("package.json maps npm run image / image:push onto scripts/image.mjs", () => {
    const scripts = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts ?? {};
    assert.equal(
      scripts.image,
      "node scripts/image.mjs build",
      'package.json needs "image": "node scripts/image.mjs build"',
    );
    assert.equal(
      scripts["image:push"],
      "node scripts/image.mjs push",
      'package.json needs "image:push": "node scripts/image.mjs push"',
    );
  });

  it("the deployment docs show the commands this test runs", () => {
    for (const file of ["docs/deploy.md", "README.zh-CN.md", "README.md"]) {
      const path = join(root, file);
      if (file === "README.md" && !(existsSync(path) && readFileSync(path, "utf8").includes("npm run image"))) continue;
      const text = readFileSync(path, "utf8");
      assert.match(text, /^npm run image -- \S+$/m, `${file}: npm run image -- <ref>`);
      assert.match(text, /^npm run image:push -- \S+$/m, `${file}: npm run image:push -- <ref>`);
      assert.match(text, /^npm run image:push -- \S+ --tls-verify=false$/m, `${file}: the local-registry push`);
    }
  });

  let firstImageId = "";
  let firstDigest = "";

  it(
    "npm run image and npm run image:push put build/plugin.wasm, byte for byte, in the registry",
    { ...needsTools, timeout: 300_000 },
    () => {
      ready();
      const built = sh("npm", ["run", "image", "--", ref], env);
      firstImageId = digestOf(built.out, "image id");
      const pushed = sh("npm", ["run", "image:push", "--", ref, "--tls-verify=false"], env);
      firstDigest = digestOf(pushed.out, "digest");

      const layout = join(tmp, "pulled");
      sh("skopeo", ["copy", "--src-tls-verify=false", `docker://${ref}`, `oci:${layout}:test`], env);
      const blob = (digest: string) => readFileSync(join(layout, "blobs", ...digest.split(":")));
      const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
      const entry = index.manifests.find((m: any) => m.annotations?.["org.opencontainers.image.ref.name"] === "test");
      assert.ok(entry, `no manifest tagged "test" in ${JSON.stringify(index)}`);
      assert.equal(entry.digest, firstDigest, "the pulled manifest is the one the push reported");

      const manifest = JSON.parse(blob(entry.digest).toString("utf8"));
      assert.equal(manifest.config.digest, firstImageId, "the pushed config is the built image");
      // Higress (Istio's image fetcher) takes a single-layer image whose layer is a gzipped tar holding plugin.wasm.
      assert.equal(manifest.layers.length, 1, `one layer expected: ${JSON.stringify(manifest.layers)}`);
      assert.equal(manifest.layers[0].mediaType, OCI_LAYER_GZIP);

      const files = untar(gunzipSync(blob(manifest.layers[0].digest)));
      assert.deepEqual([...files.keys()], ["plugin.wasm"], "the layer holds plugin.wasm and nothing else");
      const inImage = files.get("plugin.wasm")!;
      const expected = readFileSync(WASM);
      assert.equal(inImage.length, expected.length, "plugin.wasm in the image has the size of build/plugin.wasm");
      assert.ok(inImage.equals(expected), "plugin.wasm in the image is byte-identical to build/plugin.wasm");
    },
  );

  it(
    "a second build from an empty storage gives the same image id and digest",
    { ...needsTools, timeout: 300_000 },
    () => {
      ready();
      assert.ok(firstDigest, "the first build and push must have succeeded");
      sh("buildah", ["--storage-driver", "vfs", "rmi", "-f", ref], env);
      const rebuilt = sh("npm", ["run", "image", "--", ref], env);
      assert.equal(digestOf(rebuilt.out, "image id"), firstImageId);
      const repushed = sh("npm", ["run", "image:push", "--", ref, "--tls-verify=false"], env);
      assert.equal(digestOf(repushed.out, "digest"), firstDigest);
      const inspected = JSON.parse(sh("skopeo", ["inspect", "--tls-verify=false", `docker://${ref}`], env).stdout);
      assert.equal(inspected.Digest, firstDigest, "the registry serves the same digest");
      const images = sh("buildah", ["--storage-driver", "vfs", "images", "--quiet", "--all"], env)
        .stdout.trim()
        .split("\n");
      assert.equal(images.length, 1, `rebuilding leaves one image in the storage, found: ${images.join(", ")}`);
    },
  );
});
