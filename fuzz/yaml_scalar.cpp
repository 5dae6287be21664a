// The YAML scalar resolver (src/config/yaml_reader.cpp): how a scalar reads under the
// YAML 1.2 core schema (null, bool, int, float, string) for each tag yaml-cpp can give
// it, how error messages describe it, and the whole input as a document through the one
// YAML loader and into JSON (get_json keeps scalar types).
#include <cmath>
#include <string>

#include "config/yaml_reader.h"
#include "fuzz_support.h"

namespace {

using ladder::config_detail::At;
using ladder::config_detail::Reader;
using ladder::config_detail::ScalarKind;

// "?" and "" are plain scalars, "!" quoted or block ones, the rest explicit tags.
const char* const kTags[] = {"?",
                             "",
                             "!",
                             "tag:yaml.org,2002:str",
                             "tag:yaml.org,2002:int",
                             "tag:yaml.org,2002:float",
                             "tag:yaml.org,2002:bool",
                             "tag:yaml.org,2002:null",
                             "!custom"};

void resolve_scalar(const std::string& text) {
  for (const char* tag : kTags) {
    YAML::Node node(text);
    node.SetTag(tag);
    const auto s = Reader::resolve(node);
    const std::string description = Reader::describe(node);
    LADDER_FUZZ_CHECK(!description.empty());
    const std::string_view t = tag;
    if (t == "!" || t == "tag:yaml.org,2002:str") LADDER_FUZZ_CHECK(s.kind == ScalarKind::kString && s.text == text);
    if (t == "tag:yaml.org,2002:null") LADDER_FUZZ_CHECK(s.kind == ScalarKind::kNull);
    // An explicit !!int, !!float or !!bool never reads as null, and !!bool only as a bool.
    if (t == "tag:yaml.org,2002:int" || t == "tag:yaml.org,2002:float") LADDER_FUZZ_CHECK(s.kind != ScalarKind::kNull);
    if (t == "tag:yaml.org,2002:bool") LADDER_FUZZ_CHECK(s.kind == ScalarKind::kBool || s.kind == ScalarKind::kString);
    if (t == "tag:yaml.org,2002:float")
      LADDER_FUZZ_CHECK(s.kind == ScalarKind::kFloat || s.kind == ScalarKind::kString);
    if (s.kind == ScalarKind::kInt) LADDER_FUZZ_CHECK(s.number == static_cast<double>(s.integer));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = ladder::fuzz::as_text(data, size);
  resolve_scalar(std::string(text));

  Reader reader("fuzz.yaml");
  auto doc = ladder::config_detail::load_document(text, reader, "empty document");
  if (!doc) {
    LADDER_FUZZ_CHECK(reader.has_errors());
    return 0;
  }
  auto json = reader.get_json(At{*doc, "", ladder::config_detail::line_of(*doc, 1)});
  if (json) {
    (void)json->dump();  // throws on invalid UTF-8: the loader let none through
  } else {
    LADDER_FUZZ_CHECK(reader.has_errors());
  }
  return 0;
}
