#!/usr/bin/env node
// Builds and pushes the plugin's OCI image (the Dockerfile at the repo root).
//
//   node scripts/image.mjs build <ref>                       npm run image -- <ref>
//   node scripts/image.mjs push  <ref> [--tls-verify=false]  npm run image:push -- <ref>
//
// <ref> is an image reference without a scheme, e.g. registry.example.com/ai-json-mode:0.1.0;
// Higress then loads the plugin from url: oci://<ref>.
//
// The tool is docker when a Docker daemon answers `docker info`, otherwise buildah,
// which needs no daemon: vfs storage, chroot isolation and --timestamp 0, so the same
// build/plugin.wasm always gives the same image digest. IMAGE_TOOL=docker or
// IMAGE_TOOL=buildah skips the detection. Every line this script prints itself starts
// with "image: "; the tools' own output is passed through.

import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const WASM = join(root, "build", "plugin.wasm");
const DOCKERFILE = join(root, "Dockerfile");
const BUILDAH_STORAGE = ["--storage-driver", "vfs"];
const INSTALL_HINT = "apt-get install -y buildah skopeo";

const USAGE = `usage:
  node scripts/image.mjs build <ref>                       (npm run image -- <ref>)
  node scripts/image.mjs push  <ref> [--tls-verify=false]  (npm run image:push -- <ref>)
<ref>: registry/name:tag without a scheme, e.g. registry.example.com/ai-json-mode:0.1.0
environment: IMAGE_TOOL=docker|buildah forces the tool (default: docker if its daemon answers, else buildah)`;

class Failure extends Error {
  constructor(message, code = 1) {
    super(message);
    this.code = code;
  }
}

function say(line) {
  console.log(`image: ${line}`);
}

/** Runs a command with inherited stdio; a non-zero exit is a Failure naming the step. */
function run(step, cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: "inherit", ...options });
  if (r.error) throw new Failure(`${step}: ${cmd} could not be started: ${r.error.message}`);
  if (r.status !== 0) throw new Failure(`${step} failed (${cmd} exited with ${r.status ?? r.signal})`);
}

/** Runs a command quietly and returns its trimmed stdout, or null when it fails. */
function capture(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
    timeout: 30_000,
    ...options,
  });
  return r.status === 0 ? r.stdout.trim() : null;
}

function succeeds(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: "ignore", timeout: 30_000 });
  return !r.error && r.status === 0;
}

function parseArgs(argv) {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    throw new Failure(USAGE, command ? 0 : 2);
  }
  if (command !== "build" && command !== "push") throw new Failure(`unknown command "${command}"\n${USAGE}`, 2);
  let ref = null;
  let tlsVerify = null;
  for (const arg of rest) {
    const tls = /^--tls-verify(?:=(true|false))?$/.exec(arg);
    if (tls && command === "push") {
      tlsVerify = tls[1] !== "false";
    } else if (arg.startsWith("-")) {
      throw new Failure(`unknown option "${arg}" for ${command}\n${USAGE}`, 2);
    } else if (ref === null) {
      ref = arg;
    } else {
      throw new Failure(`one image reference expected, got "${ref}" and "${arg}"\n${USAGE}`, 2);
    }
  }
  if (ref === null) throw new Failure(`missing image reference\n${USAGE}`, 2);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(ref);
  if (scheme) {
    throw new Failure(
      `give the reference without "${scheme[0]}" (e.g. ${ref.slice(scheme[0].length)}); Higress's url is then oci://<ref>`,
      2,
    );
  }
  if (/\s/.test(ref)) throw new Failure(`image reference "${ref}" contains whitespace`, 2);
  return { command, ref, tlsVerify };
}

function chooseTool() {
  const forced = process.env.IMAGE_TOOL;
  if (forced) {
    if (forced !== "docker" && forced !== "buildah") {
      throw new Failure(`IMAGE_TOOL must be "docker" or "buildah", not "${forced}"`, 2);
    }
    if (forced === "docker" && !succeeds("docker", ["info"])) {
      throw new Failure("IMAGE_TOOL=docker, but no Docker daemon answers `docker info`");
    }
    if (forced === "buildah" && !succeeds("buildah", ["--version"])) {
      throw new Failure(`IMAGE_TOOL=buildah, but buildah is not installed. On Debian/Ubuntu: ${INSTALL_HINT}`);
    }
    return forced;
  }
  if (succeeds("docker", ["info"])) return "docker";
  if (succeeds("buildah", ["--version"])) return "buildah";
  throw new Failure(
    "no image tool works here: no Docker daemon answers `docker info`, and buildah is not installed.\n" +
      `  On Debian/Ubuntu, as root: ${INSTALL_HINT}\n` +
      "  (buildah builds and pushes without a daemon; skopeo copies and inspects images)\n" +
      "  or start a Docker daemon, then run this again.",
  );
}

function ensureWasm() {
  if (existsSync(WASM)) return;
  say("build/plugin.wasm is missing: running npm run build");
  const r = spawnSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });
  if (r.error || r.status !== 0 || !existsSync(WASM)) {
    throw new Failure("npm run build did not produce build/plugin.wasm");
  }
}

/**
 * A build context holding only the Dockerfile and build/plugin.wasm: nothing else from
 * the work tree (node_modules...) is sent to docker, and the file mode is fixed so the
 * layer does not depend on the umask.
 */
function makeContext() {
  const dir = mkdtempSync(join(tmpdir(), "ai-json-mode-image-"));
  copyFileSync(DOCKERFILE, join(dir, "Dockerfile"));
  mkdirSync(join(dir, "build"));
  copyFileSync(WASM, join(dir, "build", "plugin.wasm"));
  chmodSync(join(dir, "build", "plugin.wasm"), 0o644);
  return dir;
}

function buildahImageId(ref) {
  return capture("buildah", [...BUILDAH_STORAGE, "inspect", "--type", "image", "--format", "{{.FromImageID}}", ref]);
}

function dockerImageId(ref) {
  return capture("docker", ["image", "inspect", "--format", "{{.Id}}", ref]);
}

function withSha(id) {
  return id.startsWith("sha256:") ? id : `sha256:${id}`;
}

function build(tool, ref) {
  ensureWasm();
  const ctx = makeContext();
  try {
    if (tool === "buildah") {
      const previous = buildahImageId(ref);
      run("buildah bud", "buildah", [
        ...BUILDAH_STORAGE,
        "bud",
        "--isolation",
        "chroot",
        "--timestamp",
        "0",
        "--format",
        "oci",
        "-f",
        join(ctx, "Dockerfile"),
        "-t",
        ref,
        ctx,
      ]);
      const id = buildahImageId(ref);
      if (!id) throw new Failure(`buildah reported success but has no image named ${ref}`);
      // The image this ref named before is now untagged: remove it so rebuilding does
      // not pile up images in the storage. Failure (another tag still uses it) is fine.
      if (previous && previous !== id) {
        spawnSync("buildah", [...BUILDAH_STORAGE, "rmi", previous], { stdio: "ignore" });
      }
      say(`built ${ref} with buildah, image id ${withSha(id)}`);
    } else {
      run("docker build", "docker", ["build", "-f", join(ctx, "Dockerfile"), "-t", ref, ctx], {
        env: { ...process.env, SOURCE_DATE_EPOCH: "0" },
      });
      const id = dockerImageId(ref);
      if (!id) throw new Failure(`docker reported success but has no image named ${ref}`);
      say(`built ${ref} with docker, image id ${withSha(id)}`);
    }
    say(`next: npm run image:push -- ${ref}`);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

function push(tool, ref, tlsVerify) {
  if (tool === "buildah") {
    if (!buildahImageId(ref)) {
      throw new Failure(`buildah's storage has no image ${ref}: run npm run image -- ${ref} first`);
    }
    const dir = mkdtempSync(join(tmpdir(), "ai-json-mode-push-"));
    try {
      const digestFile = join(dir, "digest");
      const tls = tlsVerify === null ? [] : [`--tls-verify=${tlsVerify}`];
      run("buildah push", "buildah", [
        ...BUILDAH_STORAGE,
        "push",
        ...tls,
        "--digestfile",
        digestFile,
        ref,
        `docker://${ref}`,
      ]);
      const digest = readFileSync(digestFile, "utf8").trim();
      say(`pushed ${ref} with buildah, digest ${digest}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } else {
    if (!dockerImageId(ref)) {
      throw new Failure(`docker has no image ${ref}: run npm run image -- ${ref} first`);
    }
    if (tlsVerify === false) {
      say(
        "docker has no --tls-verify: a registry without TLS must be in the daemon's insecure-registries (127.0.0.0/8 is by default)",
      );
    }
    run("docker push", "docker", ["push", ref]);
    const repo = ref.replace(/(:[^/:]+)?$/, "");
    const digests = capture("docker", [
      "image",
      "inspect",
      "--format",
      "{{range .RepoDigests}}{{println .}}{{end}}",
      ref,
    ]);
    const line = digests?.split("\n").find((d) => d.startsWith(`${repo}@`));
    say(`pushed ${ref} with docker${line ? `, digest ${line.slice(line.indexOf("@") + 1)}` : ""}`);
  }
  say(`Higress url: oci://${ref}`);
}

function main() {
  try {
    const { command, ref, tlsVerify } = parseArgs(process.argv.slice(2));
    const tool = chooseTool();
    if (command === "build") build(tool, ref);
    else push(tool, ref, tlsVerify);
  } catch (err) {
    if (!(err instanceof Failure)) throw err;
    if (err.code === 0) {
      console.log(err.message);
    } else {
      console.error(err.message.startsWith("usage:") ? err.message : `image: ${err.message}`);
    }
    process.exit(err.code);
  }
}

main();
