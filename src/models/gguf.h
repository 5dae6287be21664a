// GGUF header and metadata reader. A GGUF file is outside input: every count and length
// is bounded, truncation and foreign files are clear errors, never a crash or a huge
// allocation. Only the header and metadata are read; tensor data is never touched.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "ladder/status.h"

namespace ladder::models {

// Ceilings on what a header may claim before the reader refuses it (kPayloadTooLarge).
struct GgufLimits {
  std::uint64_t max_tensors = 1u << 20;
  std::uint64_t max_kv = 1u << 16;
  std::uint64_t max_key_bytes = 1u << 16;
  std::uint64_t max_string_bytes = 64u << 20;
  std::uint64_t max_array_items = 1u << 24;
  int max_array_depth = 2;
};

// An array is kept as its element type and length only.
struct GgufArray {
  std::uint32_t item_type = 0;
  std::uint64_t count = 0;
};

using GgufValue = std::variant<std::uint64_t, std::int64_t, double, bool, std::string, GgufArray>;

struct GgufInfo {
  std::uint32_t version = 0;
  std::uint64_t tensor_count = 0;
  std::uint64_t kv_count = 0;
  std::map<std::string, GgufValue> metadata;
  // Read from the metadata; empty / nullopt when the file does not say.
  std::string architecture;  // general.architecture
  std::string name;          // general.name
  std::optional<std::uint32_t> file_type;
  std::string quantization;                     // file_type as llama.cpp names it (Q4_K_M, ...)
  std::optional<std::uint64_t> context_length;  // <architecture>.context_length
};

// Parses the header of the file at `path`. Errors: kNotFound (no such file),
// kUnavailable (cannot be read), kParseError (not GGUF, unsupported version, truncated,
// bad value type), kPayloadTooLarge (a count or length over `limits`).
Result<GgufInfo> read_gguf_header(const std::string& path, const GgufLimits& limits = {});

// Same, over bytes already in memory (tests, fuzzing).
Result<GgufInfo> parse_gguf_header(std::string_view bytes, const GgufLimits& limits = {});

// llama.cpp's name for a general.file_type value ("Q4_K_M"); "type N" when unknown.
std::string quantization_name(std::uint32_t file_type);

}  // namespace ladder::models
