// Reading scenarios (tests/conformance/README.md, "Scenario format"): header lists
// and body specs as steps and call answers give them. The scenario-wide settings
// are read by Runner::readSettings, also in scenario.cc.
#pragma once

#include <string>

#include "header_map.h"
#include "json.h"

namespace cpphost {

/** Adds `v` ([[name, value], ...] or {name: value}; absent: nothing) to `out`; false + `err` when malformed. */
bool readHeaders(const Json* v, HeaderMap& out, std::string& err);
/** The bytes a body spec stands for: a string, {text}, {base64}, {json}, {file} or {fill}; absent: empty. */
bool readBody(const Json* v, std::string& out, std::string& err);

}  // namespace cpphost
