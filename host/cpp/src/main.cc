// ai-json-mode-cpphost: runs proxy-wasm scenarios on proxy-wasm-cpp-host (WAMR).
//
//   ai-json-mode-cpphost run <wasm> [--module NAME=PATH]... < scenarios.jsonl > transcripts.jsonl
//   ai-json-mode-cpphost bench <wasm> [--sizes 1024,65536,1048576] [--responses N] [--chunk BYTES]
//
// `run` reads one scenario per line (JSON) and writes one transcript per line, in
// order. A scenario names its module ("plugin" is <wasm>; others come from --module).
// `bench` measures the CPU time one converted response costs, per body size.
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "json.h"
#include "runner.h"

using cpphost::Json;
using cpphost::Runner;

namespace {

int usage() {
  fprintf(stderr,
          "usage: ai-json-mode-cpphost run <wasm> [--module NAME=PATH]... < scenarios.jsonl > transcripts.jsonl\n"
          "       ai-json-mode-cpphost bench <wasm> [--sizes 1024,65536,1048576] [--responses N] [--chunk BYTES]\n");
  return 2;
}

/** Transcripts go to the original stdout; anything a library prints goes to stderr. */
FILE* claimStdout() {
  fflush(stdout);
  int fd = dup(1);
  if (fd < 0) return nullptr;
  dup2(2, 1);
  return fdopen(fd, "w");
}

int runCommand(const std::string& wasm, const std::map<std::string, std::string>& extra) {
  FILE* out = claimStdout();
  if (out == nullptr) {
    perror("dup");
    return 1;
  }
  std::map<std::string, std::string> modules = extra;
  modules["plugin"] = wasm;
  Runner runner(modules);
  std::string line;
  size_t lineNo = 0;
  while (std::getline(std::cin, line)) {
    lineNo++;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    Json scenario;
    std::string error;
    Json transcript;
    if (!Json::parse(line, scenario, error)) {
      transcript = Json::object();
      transcript.set("name", Json());
      transcript.set("ok", false);
      Json errs = Json::array();
      errs.push("line " + std::to_string(lineNo) + ": " + error);
      transcript.set("errors", errs);
    } else {
      transcript = runner.run(scenario);
    }
    std::string text = transcript.dump();
    text.push_back('\n');
    if (fwrite(text.data(), 1, text.size(), out) != text.size() || fflush(out) != 0) {
      perror("write");
      return 1;
    }
  }
  fclose(out);
  return 0;
}

double cpuMs() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

double wallMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) * 1000.0 + static_cast<double>(ts.tv_nsec) / 1e6;
}

/** An OpenAI chat completion of exactly `size` bytes (its content pads it). */
std::string completionOfSize(size_t size) {
  const std::string prefix =
      "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"model\":\"qwen-max\",\"choices\":[{\"index\":0,"
      "\"message\":{\"role\":\"assistant\",\"content\":\"";
  const std::string suffix =
      "\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":20,\"total_tokens\":30}}";
  const std::string words = "Alice is 30 years old and lives in Hangzhou. ";
  std::string body = prefix;
  size_t middle = size > prefix.size() + suffix.size() ? size - prefix.size() - suffix.size() : 0;
  while (body.size() - prefix.size() < middle) body += words;
  body.resize(prefix.size() + middle);
  body += suffix;
  return body;
}

Json benchScenario(size_t size, int responses, size_t chunk) {
  Json sc = Json::object();
  sc.set("name", "bench-" + std::to_string(size));
  sc.set("bufferLimit", static_cast<int64_t>(256 * 1024 * 1024));
  Json clusters = Json::object();
  clusters.set("outbound|443||deepseek.dns", "healthy");
  sc.set("clusters", clusters);
  Json config = Json::object();
  config.set("url", "https://api.deepseek.com/v1/chat/completions");
  config.set("model", "deepseek-chat");
  config.set("apiKey", "sk-bench");
  config.set("serviceFQDN", "deepseek.dns");
  config.set("servicePort", 443);
  sc.set("config", config);
  Json steps = Json::array();
  std::string body = completionOfSize(size);
  std::string answer =
      "{\"id\":\"x\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
      "\"content\":\"{\\\"name\\\":\\\"Alice\\\",\\\"age\\\":30}\"},\"finish_reason\":\"stop\"}],"
      "\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":5,\"total_tokens\":10}}";
  for (int i = 0; i < responses; i++) {
    std::string name = "s" + std::to_string(i);
    Json h = Json::object();
    h.set("stream", name);
    Json rh = Json::array();
    for (auto kv : std::vector<std::pair<std::string, std::string>>{
             {":method", "POST"}, {":path", "/v1/chat/completions"}, {":authority", "gw"}, {":scheme", "http"}}) {
      Json p = Json::array();
      p.push(kv.first);
      p.push(kv.second);
      rh.push(p);
    }
    h.set("requestHeaders", rh);
    h.set("endStream", true);
    steps.push(h);
    Json r = Json::object();
    r.set("stream", name);
    Json resp = Json::array();
    for (auto kv : std::vector<std::pair<std::string, std::string>>{
             {":status", "200"}, {"content-type", "application/json"}, {"content-length", std::to_string(body.size())}}) {
      Json p = Json::array();
      p.push(kv.first);
      p.push(kv.second);
      resp.push(p);
    }
    r.set("responseHeaders", resp);
    steps.push(r);
    Json b = Json::object();
    b.set("stream", name);
    b.set("responseBody", body);
    b.set("chunkSize", static_cast<uint64_t>(chunk));
    b.set("endStream", true);
    steps.push(b);
    Json a = Json::object();
    a.set("answer", i + 1);
    a.set("status", 200);
    Json ah = Json::object();
    ah.set("content-type", "application/json");
    a.set("headers", ah);
    a.set("body", answer);
    steps.push(a);
  }
  sc.set("steps", steps);
  return sc;
}

int benchCommand(const std::string& wasm, std::vector<size_t> sizes, int responses, size_t chunk) {
  FILE* out = claimStdout();
  if (out == nullptr) return 1;
  std::map<std::string, std::string> modules{{"plugin", wasm}};
  Runner runner(modules);
  runner.setQuiet(true);
  // Warm-up: loads the module once (the base VM is shared by every run).
  runner.run(benchScenario(1024, 1, chunk));
  for (size_t size : sizes) {
    int n = responses > 0 ? responses : (size >= 1024 * 1024 ? 5 : size >= 65536 ? 20 : 100);
    // One response per fresh VM (Envoy's worker VM before its first request), the same
    // figure `npm run conformance -- --bench` takes on host/. (WAMR 2.1.1 also traps a VM
    // whose memory grew inside a host call when the module uses bulk memory; the plugin is
    // built without it, see tests/conformance/README.md.)
    double baseCpu = 0, fullCpu = 0, baseWall = 0, fullWall = 0;
    int converted = 0;
    for (int i = 0; i < n; i++) {
      double c0 = cpuMs(), w0 = wallMs();
      runner.run(benchScenario(size, 0, chunk));
      double c1 = cpuMs(), w1 = wallMs();
      Json full = runner.run(benchScenario(size, 1, chunk));
      double c2 = cpuMs(), w2 = wallMs();
      baseCpu += c1 - c0;
      fullCpu += c2 - c1;
      baseWall += w1 - w0;
      fullWall += w2 - w1;
      for (const auto& m : full.get("clients")->members()) {
        for (const auto& h : m.second.get("headers")->items()) {
          if (h.at(0).asString() == "mode" && h.at(1).asString() == "json") converted++;
        }
      }
    }
    double perCpu = (fullCpu - baseCpu) / n;
    double perWall = (fullWall - baseWall) / n;
    Json line = Json::object();
    line.set("size", static_cast<uint64_t>(size));
    line.set("chunk", static_cast<uint64_t>(chunk));
    line.set("responses", n);
    line.set("converted", converted);
    char buf[32];
    snprintf(buf, sizeof buf, "%.3f", perCpu);
    line.set("cpuMsPerResponse", std::strtod(buf, nullptr));
    snprintf(buf, sizeof buf, "%.3f", perWall);
    line.set("wallMsPerResponse", std::strtod(buf, nullptr));
    snprintf(buf, sizeof buf, "%.3f", baseCpu / n);
    line.set("setupCpuMs", std::strtod(buf, nullptr));
    std::string text = line.dump() + "\n";
    fwrite(text.data(), 1, text.size(), out);
    fflush(out);
    fprintf(stderr, "bench: %8zu-byte response: %9.3f ms CPU each (%d responses, %d converted; VM set-up %.2f ms)\n",
            size, perCpu, n, converted, baseCpu / n);
  }
  fclose(out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  std::string cmd = argv[1];
  std::string wasm = argv[2];
  if (cmd == "run") {
    std::map<std::string, std::string> modules;
    for (int i = 3; i < argc; i++) {
      std::string a = argv[i];
      if (a == "--module" && i + 1 < argc) {
        std::string spec = argv[++i];
        auto eq = spec.find('=');
        if (eq == std::string::npos) return usage();
        modules[spec.substr(0, eq)] = spec.substr(eq + 1);
      } else {
        return usage();
      }
    }
    return runCommand(wasm, modules);
  }
  if (cmd == "bench") {
    std::vector<size_t> sizes{1024, 65536, 1048576};
    int responses = 0;
    size_t chunk = 16384;
    for (int i = 3; i < argc; i++) {
      std::string a = argv[i];
      if (a == "--sizes" && i + 1 < argc) {
        sizes.clear();
        std::stringstream ss(argv[++i]);
        std::string item;
        while (std::getline(ss, item, ',')) sizes.push_back(static_cast<size_t>(std::stoull(item)));
      } else if (a == "--responses" && i + 1 < argc) {
        responses = std::atoi(argv[++i]);
      } else if (a == "--chunk" && i + 1 < argc) {
        chunk = static_cast<size_t>(std::stoull(argv[++i]));
      } else {
        return usage();
      }
    }
    return benchCommand(wasm, sizes, responses, chunk);
  }
  return usage();
}
