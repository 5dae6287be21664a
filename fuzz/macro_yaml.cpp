// A macro file (src/config/macro_file.cpp): YAML text → validated MacroDefinition, its
// expressions and templates compiled, or errors that name file, line and YAML path.
// Fixture files it names resolve in the example macro pack's folder.
#include <string>

#include "config/macro_file.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using ladder::ErrorCode;
  auto macro =
      ladder::load_macro_yaml(ladder::fuzz::as_text(data, size), "fuzz-macro.yaml", LADDER_FUZZ_EXAMPLES "/macros");
  if (macro.ok()) {
    LADDER_FUZZ_CHECK(macro.value() != nullptr);
    return 0;
  }
  const ErrorCode code = macro.status().code();
  // kNotFound: a file the input names (macro_files, fixtures) does not exist.
  LADDER_FUZZ_CHECK(code == ErrorCode::kParseError || code == ErrorCode::kConfigInvalid ||
                    code == ErrorCode::kPayloadTooLarge || code == ErrorCode::kInvalidUtf8 ||
                    code == ErrorCode::kNotFound);
  LADDER_FUZZ_CHECK(!macro.status().message().empty());
  return 0;
}
