// The GGUF header reader (src/models/gguf.cpp): magic, version, counts and metadata of a
// model file, every count and length bounded. Read under the default limits and under
// tight ones; what the tight read accepts the default read must accept the same way.
#include <string>

#include "fuzz_support.h"
#include "models/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace models = ladder::models;
  using ladder::ErrorCode;
  const std::string_view bytes = ladder::fuzz::as_text(data, size);

  auto info = models::parse_gguf_header(bytes);
  if (info.ok()) {
    LADDER_FUZZ_CHECK(info->version == 2 || info->version == 3);
    LADDER_FUZZ_CHECK(info->metadata.size() <= info->kv_count);
    if (info->file_type) LADDER_FUZZ_CHECK(!info->quantization.empty());
  } else {
    const ErrorCode code = info.status().code();
    LADDER_FUZZ_CHECK(code == ErrorCode::kParseError || code == ErrorCode::kPayloadTooLarge);
  }

  models::GgufLimits tight;
  tight.max_tensors = 16;
  tight.max_kv = 8;
  tight.max_key_bytes = 64;
  tight.max_string_bytes = 256;
  tight.max_array_items = 32;
  tight.max_array_depth = 1;
  auto small = models::parse_gguf_header(bytes, tight);
  if (small.ok()) {
    LADDER_FUZZ_CHECK(info.ok());
    LADDER_FUZZ_CHECK(small->kv_count <= tight.max_kv && small->tensor_count <= tight.max_tensors);
    LADDER_FUZZ_CHECK(small->metadata.size() == info->metadata.size() && small->architecture == info->architecture);
    for (const auto& [key, value] : small->metadata) LADDER_FUZZ_CHECK(info->metadata.count(key) == 1);
  } else if (small.status().code() == ErrorCode::kParseError && info.ok()) {
    LADDER_FUZZ_CHECK(false && "the tight read found a parse error the default read did not");
  }
  return 0;
}
