// The words of a transcript (tests/conformance/README.md, "Transcript format"):
// event objects, and the names the proxy-wasm ABI's enumerations get in them.
#pragma once

#include <cstdint>

#include "include/proxy-wasm/context_interface.h"
#include "json.h"

namespace cpphost {

/** A new transcript event: {"ev": name}. */
Json event(const char* name);

const char* resultName(proxy_wasm::WasmResult r);
const char* mapName(proxy_wasm::WasmHeaderMapType t);
const char* bufferName(proxy_wasm::WasmBufferType t);
const char* streamTypeName(proxy_wasm::WasmStreamType t);
/** Log levels 0..5: trace, debug, info, warn, error, critical. */
const char* levelName(uint32_t level);
/** Metric types 0..2: counter, gauge, histogram. */
const char* metricTypeName(uint32_t t);
/** Header pairs as [[name, value], ...], both decoded as UTF-8 with replacement. */
Json pairsJson(const proxy_wasm::Pairs& pairs);

}  // namespace cpphost
