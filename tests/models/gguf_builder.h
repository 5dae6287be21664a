// Test helper: builds GGUF header bytes field by field, so tests can write valid files
// and corrupt them in one chosen place.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

namespace ladder::models::testing {

class GgufBuilder {
 public:
  GgufBuilder& raw(const std::string& b) {
    bytes_ += b;
    return *this;
  }
  template <typename T>
  GgufBuilder& num(T v) {
    std::uint64_t u = 0;
    std::memcpy(&u, &v, sizeof v);
    for (std::size_t i = 0; i < sizeof v; ++i) bytes_.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
    return *this;
  }
  GgufBuilder& str(const std::string& s) {
    num<std::uint64_t>(s.size());
    return raw(s);
  }
  // magic, version, tensor count, kv count
  GgufBuilder& header(std::uint32_t version, std::uint64_t tensors, std::uint64_t kvs) {
    raw("GGUF");
    num(version);
    num(tensors);
    return num(kvs);
  }
  GgufBuilder& kv_string(const std::string& key, const std::string& value) {
    str(key);
    num<std::uint32_t>(8);
    return str(value);
  }
  GgufBuilder& kv_u32(const std::string& key, std::uint32_t value) {
    str(key);
    num<std::uint32_t>(4);
    return num(value);
  }
  const std::string& bytes() const { return bytes_; }

 private:
  std::string bytes_;
};

}  // namespace ladder::models::testing
