// The one translation unit that includes llama.cpp's common headers (and through them
// its vendored nlohmann::json). Keep ladder headers that pull in nlohmann out of here.
#include "gbnf.h"

#include <exception>

#include "json-schema-to-grammar.h"
#include "json.h"

namespace ladder::gbnf {

Conversion json_schema_to_gbnf(const std::string& schema_json) {
  Conversion out;
  try {
    const common_json schema = common_json::parse(schema_json);
    out.grammar = json_schema_to_grammar(schema, /*force_gbnf=*/true);
    out.ok = true;
  } catch (const std::exception& e) {
    out.error = e.what();
  } catch (...) {
    out.error = "unknown error converting JSON Schema to GBNF";
  }
  return out;
}

}  // namespace ladder::gbnf
