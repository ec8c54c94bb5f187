// The HTTP calls the plugin made, in order, and their answers as a scenario gives them:
// an answer, a timeout (504), a connection failure (503) or a reset.
#include <string>

#include "envoy_context.h"
#include "events.h"
#include "runner.h"
#include "scenario.h"

namespace cpphost {

namespace {

constexpr const char* kTimeoutBody = "upstream request timeout";
constexpr const char* kConnectFailureBody =
    "upstream connect error or disconnect/reset before headers. reset reason: connection failure";

}  // namespace

HttpCallRecord& Runner::newCall(EnvoyContext* root, uint32_t token) {
  HttpCallRecord rec;
  rec.index = static_cast<int>(calls_.size()) + 1;
  rec.token = token;
  rec.root = root;
  calls_.push_back(std::move(rec));
  return calls_.back();
}

HttpCallRecord* Runner::callByToken(EnvoyContext* root, uint32_t token) {
  // Newest first: tokens start again at 4 in a re-created VM.
  for (auto it = calls_.rbegin(); it != calls_.rend(); ++it) {
    if (it->root == root && it->token == token) return &*it;
  }
  return nullptr;
}

void Runner::rootGone(EnvoyContext* root) {
  for (auto& c : calls_) {
    if (c.root != root) continue;
    if (c.state == HttpCallRecord::State::Pending) {
      c.state = HttpCallRecord::State::Cancelled;
      Json e = event("call_cancelled");
      e.set("call", c.index);
      record(e);
    }
    c.root = nullptr;
  }
}

void Runner::answerCall(const Json& st) {
  const char* kinds[] = {"answer", "timeout", "connectFailure", "reset"};
  std::string kind;
  int index = 0;
  for (const char* k : kinds) {
    if (auto* v = st.get(k)) {
      kind = k;
      index = static_cast<int>(v->asInt());
    }
  }
  if (index < 1) {
    scenarioError("a call answer names call " + std::to_string(index) + " (calls count from 1)");
    return;
  }
  if (index > static_cast<int>(calls_.size())) {
    // The plugin did not make that call (e.g. it gave up earlier): nothing to answer.
    Json e = event("skipped");
    e.set("call", index);
    e.set("reason", "call never made");
    record(e);
    return;
  }
  HttpCallRecord& rec = calls_[static_cast<size_t>(index - 1)];
  Json e = event("call_answer");
  e.set("call", index);
  e.set("kind", kind);
  if (rec.state == HttpCallRecord::State::Answered || rec.state == HttpCallRecord::State::Dropped) {
    // Already answered (a timeout may have fired first): a later answer finds nothing.
    Json d = event("skipped");
    d.set("call", index);
    d.set("reason", "call already answered");
    record(d);
    return;
  }
  if (rec.state == HttpCallRecord::State::Cancelled || rec.root == nullptr) {
    record(e);
    Json d = event("call_dropped");
    d.set("call", index);
    d.set("reason", "cancelled");
    record(d);
    return;
  }
  rec.state = HttpCallRecord::State::Answered;
  EnvoyContext* root = rec.root;
  if (kind == "reset") {
    record(e);
    root->onHttpCallFailure(rec.token);
    return;
  }
  CallResponse resp;
  std::string err;
  if (kind == "answer") {
    int64_t status = st.get("status") ? st.get("status")->asInt() : 200;
    resp.headers.addCopy(":status", std::to_string(status));
    if (!readHeaders(st.get("headers"), resp.headers, err) || !readBody(st.get("body"), resp.body, err)) {
      scenarioError("call " + std::to_string(index) + ": " + err);
      return;
    }
    e.set("status", status);
  } else {
    const char* body = kind == "timeout" ? kTimeoutBody : kConnectFailureBody;
    int status = kind == "timeout" ? 504 : 503;
    resp.headers.addCopy(":status", std::to_string(status));
    resp.body = body;
    resp.headers.addCopy("content-length", std::to_string(resp.body.size()));
    resp.headers.addCopy("content-type", "text/plain");
    e.set("status", status);
  }
  record(e);
  root->onHttpCallSuccess(rec.token, std::move(resp));
}

}  // namespace cpphost
