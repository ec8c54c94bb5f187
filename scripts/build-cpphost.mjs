#!/usr/bin/env node
// Builds build/cpphost/ai-json-mode-cpphost: the conformance embedder in
// host/cpp/ (proxy-wasm-cpp-host on WAMR, with an Envoy 1.27 model around it).
//
// The third-party sources are never part of this repository: they are read
// from the pinned tarballs in $PROXY_WASM_VENDOR_DIR (default: ../shared/vendor
// next to the repository root, or next to the local repository it was cloned
// from), each checked against its sha256 before use,
// and extracted into build/cpphost/src. A second run with nothing changed only
// re-checks the tarballs and lets CMake find nothing to do.
//
// Exit codes: 0 built; 1 the build failed (its output is printed);
// 3 a prerequisite is missing (cmake, a C++ compiler, make or ninja, tar,
// OpenSSL headers, or the tarballs): one line says which;
// 4 a tarball does not match its pinned sha256.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "build", "cpphost");
const binary = join(out, "ai-json-mode-cpphost");
const verbose = process.argv.includes("--verbose");

export const EXIT_MISSING = 3;
export const EXIT_CHECKSUM = 4;

/** The pinned sources: tarball name, the directory it extracts to, sha256. */
const TARBALLS = [
  {
    file: "proxy-wasm-cpp-host-7850d17.tar.gz",
    dir: "proxy-wasm-cpp-host-7850d17",
    sha256: "a788da3e219273d93aa65e10c7dd565489c45b1b2a2db759c38fb92666e8ca23",
    cmake: "PROXY_WASM_CPP_HOST_DIR",
  },
  {
    file: "proxy-wasm-cpp-sdk-0ceca8c.tar.gz",
    dir: "proxy-wasm-cpp-sdk-0ceca8c",
    sha256: "e5f2ed172e6922111d19d44ba987e5f2359242652b556a2acc4e02c32ecb1345",
    cmake: "PROXY_WASM_CPP_SDK_DIR",
  },
  {
    file: "wasm-micro-runtime-WAMR-2.1.1.tar.gz",
    dir: "wasm-micro-runtime-WAMR-2.1.1",
    sha256: "093fd07804d2e8f272369dff48c5bc90c709175a42166c1b467268119525bd99",
    cmake: "WAMR_DIR",
  },
];

function missing(what) {
  console.log(`build:cpphost: missing ${what}`);
  process.exit(EXIT_MISSING);
}

function has(cmd, args = ["--version"]) {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return r.status === 0;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: "utf8", maxBuffer: 64 * 1024 * 1024, ...opts });
  if (verbose) {
    if (r.stdout) process.stdout.write(r.stdout);
    if (r.stderr) process.stderr.write(r.stderr);
  }
  return r;
}

const started = Date.now();

// ---- prerequisites ------------------------------------------------------------
const vendorDir = findVendorDir();

/**
 * $PROXY_WASM_VENDOR_DIR; else ../shared/vendor next to the repository; else,
 * for a clone of a local repository, ../shared/vendor next to the repository
 * it was cloned from (its `origin`).
 */
function findVendorDir() {
  if (process.env.PROXY_WASM_VENDOR_DIR) return resolve(process.env.PROXY_WASM_VENDOR_DIR);
  const beside = join(root, "..", "shared", "vendor");
  if (existsSync(beside)) return beside;
  const origin = spawnSync("git", ["-C", root, "remote", "get-url", "origin"], { encoding: "utf8" });
  const url = origin.status === 0 ? origin.stdout.trim().replace(/^file:\/\//, "") : "";
  if (url.startsWith("/")) {
    const besideOrigin = join(url, "..", "shared", "vendor");
    if (existsSync(besideOrigin)) return besideOrigin;
  }
  return beside;
}
const apt = "(apt-get install -y cmake g++ libssl-dev)";
if (!has("cmake")) missing(`cmake ${apt}`);
const cxx = process.env.CXX || "g++";
if (!has(cxx)) missing(`a C++17 compiler (${cxx}) ${apt}`);
const generator = has("ninja") ? "Ninja" : has("make") ? "Unix Makefiles" : null;
if (generator === null) missing("make or ninja (apt-get install -y make)");
if (!has("tar")) missing("tar");
{
  const probe = spawnSync(cxx, ["-x", "c++", "-E", "-"], {
    input: "#include <openssl/rand.h>\n",
    stdio: ["pipe", "ignore", "ignore"],
  });
  if (probe.status !== 0) missing(`OpenSSL headers ${apt}`);
}
for (const t of TARBALLS) {
  if (!existsSync(join(vendorDir, t.file))) {
    missing(`${t.file} in ${vendorDir} (set PROXY_WASM_VENDOR_DIR to the directory holding the pinned tarballs)`);
  }
}

// ---- checksums and extraction -------------------------------------------------
const srcDir = join(out, "src");
mkdirSync(srcDir, { recursive: true });
for (const t of TARBALLS) {
  const tarball = join(vendorDir, t.file);
  const sum = createHash("sha256").update(readFileSync(tarball)).digest("hex");
  if (sum !== t.sha256) {
    console.log(`build:cpphost: ${tarball} has sha256 ${sum}, expected ${t.sha256}`);
    process.exit(EXIT_CHECKSUM);
  }
  const dest = join(srcDir, t.dir);
  const stamp = join(srcDir, `${t.dir}.sha256`);
  if (existsSync(dest) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === sum) continue;
  const tmp = join(srcDir, `.extract-${t.dir}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const r = run("tar", ["-xzf", tarball, "-C", tmp]);
  if (r.status !== 0) {
    console.log(`build:cpphost: cannot extract ${tarball}: ${(r.stderr || "").trim()}`);
    process.exit(1);
  }
  if (!existsSync(join(tmp, t.dir))) {
    console.log(`build:cpphost: ${t.file} did not contain ${t.dir}/`);
    process.exit(1);
  }
  rmSync(dest, { recursive: true, force: true });
  renameSync(join(tmp, t.dir), dest);
  rmSync(tmp, { recursive: true, force: true });
  writeFileSync(stamp, sum + "\n");
}

// ---- configure and build ------------------------------------------------------
const cmakeDir = join(out, "cmake");
if (!existsSync(join(cmakeDir, "CMakeCache.txt"))) {
  const defs = TARBALLS.map((t) => `-D${t.cmake}=${join(srcDir, t.dir)}`);
  const r = run("cmake", [
    "-S",
    join(root, "host", "cpp"),
    "-B",
    cmakeDir,
    "-G",
    generator,
    "-DCMAKE_BUILD_TYPE=Release",
    `-DCMAKE_CXX_COMPILER=${cxx}`,
    `-DCPPHOST_OUTPUT_DIR=${out}`,
    ...defs,
  ]);
  if (r.status !== 0) {
    process.stdout.write(r.stdout || "");
    process.stderr.write(r.stderr || "");
    console.log("build:cpphost: cmake configure failed");
    rmSync(join(cmakeDir, "CMakeCache.txt"), { force: true });
    process.exit(1);
  }
}
const jobs = process.env.CPPHOST_JOBS || "2";
const b = run("cmake", ["--build", cmakeDir, "--target", "ai-json-mode-cpphost", "--parallel", jobs]);
if (b.status !== 0) {
  process.stdout.write(b.stdout || "");
  process.stderr.write(b.stderr || "");
  console.log("build:cpphost: build failed");
  process.exit(1);
}
if (!existsSync(binary)) {
  console.log(`build:cpphost: the build did not produce ${binary}`);
  process.exit(1);
}
const secs = ((Date.now() - started) / 1000).toFixed(1);
console.log(`build:cpphost: build/cpphost/ai-json-mode-cpphost (${statSync(binary).size} bytes) in ${secs} s`);
