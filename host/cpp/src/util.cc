#include "util.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <cctype>

namespace cpphost {

namespace {

/**
 * The UTF-8 sequence at s[i], per RFC 3629: its length when it is valid (valid = true);
 * otherwise its WHATWG "maximal subpart", the bytes one U+FFFD replaces.
 */
size_t sequenceAt(std::string_view s, size_t i, bool& valid) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size();
  unsigned char c = p[i];
  valid = c < 0x80;
  if (valid) return 1;
  size_t need = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) need = 1;
  else if (c >= 0xE0 && c <= 0xEF) { need = 2; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
  else if (c >= 0xF0 && c <= 0xF4) { need = 3; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
  else return 1;
  size_t k = 1;
  for (; k <= need && i + k < n; k++) {
    unsigned char b = p[i + k];
    if (k == 1 ? (b < lo || b > hi) : ((b & 0xC0) != 0x80)) break;
  }
  valid = k == need + 1;
  return k;
}

}  // namespace

bool isValidUtf8(std::string_view s) {
  bool valid = true;
  for (size_t i = 0; i < s.size() && valid;) i += sequenceAt(s, i, valid);
  return valid;
}

std::string utf8Lossy(std::string_view s) {
  if (isValidUtf8(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) {
    bool valid = false;
    size_t len = sequenceAt(s, i, valid);
    if (valid) out.append(s.substr(i, len));
    else out += "\xEF\xBF\xBD";
    i += len;
  }
  return out;
}

std::string base64Encode(std::string_view s) {
  std::string out;
  out.resize(4 * ((s.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

bool base64Decode(std::string_view s, std::string& out) {
  static const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    size_t v = chars.find(c);
    if (v == std::string::npos) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

std::string sha256Hex(std::string_view s) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out.push_back(hex[b >> 4]);
    out.push_back(hex[b & 15]);
  }
  return out;
}

std::string asciiLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Json bodyJson(std::string_view bytes) {
  Json j = Json::object();
  if (bytes.size() > kBodyInlineLimit) {
    j.set("size", static_cast<uint64_t>(bytes.size()));
    j.set("sha256", sha256Hex(bytes));
  } else if (isValidUtf8(bytes)) {
    j.set("text", std::string(bytes));
  } else {
    j.set("base64", base64Encode(bytes));
  }
  return j;
}

}  // namespace cpphost
