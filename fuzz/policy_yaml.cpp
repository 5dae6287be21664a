// The policy file (src/config/loader.cpp): YAML text → validated Config, or errors that
// name the YAML path. Relative paths resolve against the example policy's folder, so
// macro_files: and macros_file: entries reach the example's real macro files.
#include <string>

#include "config/loader.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ladder::ErrorCode;
  auto config = ladder::load_policy_yaml(ladder::fuzz::as_text(data, size), "fuzz-policy.yaml", LADDER_FUZZ_EXAMPLES);
  if (config.ok()) {
    LADDER_FUZZ_CHECK(config.value() != nullptr);
    return 0;
  }
  const ErrorCode code = config.status().code();
  // kNotFound: a file the input names (macro_files, fixtures) does not exist.
  LADDER_FUZZ_CHECK(code == ErrorCode::kParseError || code == ErrorCode::kConfigInvalid ||
                    code == ErrorCode::kPayloadTooLarge || code == ErrorCode::kInvalidUtf8 ||
                    code == ErrorCode::kNotFound);
  LADDER_FUZZ_CHECK(!config.status().message().empty());
  return 0;
}
