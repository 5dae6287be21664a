// Private to src/config: a strict, path-tracking reader over yaml-cpp nodes. Every
// problem is recorded as "<source>:<line>: <yaml.path>: <what>" with an error code; the
// loader reports them all, first one first.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "ladder/status.h"

namespace ladder::config_detail {

// A node together with where it sits: its dotted YAML path and its 1-based line.
struct At {
  YAML::Node node;
  std::string path;
  int line = 1;
};

// How a YAML scalar resolves under the YAML 1.2 core schema: plain scalars that read as
// null/bool/int/float become those, quoted and block scalars stay strings.
enum class ScalarKind { kNull, kBool, kInt, kFloat, kString };

struct Scalar {
  ScalarKind kind = ScalarKind::kString;
  std::string text;
  bool boolean = false;
  std::int64_t integer = 0;
  double number = 0.0;
};

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  void error(int line, std::string_view path, std::string_view what, ErrorCode code = ErrorCode::kConfigInvalid);
  bool has_errors() const { return !issues_.empty(); }
  // All recorded problems, newline-separated, with the code of the first one.
  Status status() const;
  const std::string& source() const { return source_; }

  // Child positions.
  static At child(const At& parent, const YAML::Node& key, const YAML::Node& value, const std::string& name);
  static At item(const At& parent, const YAML::Node& value, std::size_t index);

  // Checks `at` is a mapping and returns its entries by key; unknown keys (not in
  // `allowed`), duplicate keys and non-string keys are errors. An empty `allowed` list
  // accepts any key (used for user-named maps such as models and tasks).
  std::optional<std::vector<std::pair<std::string, At>>> entries(const At& at);
  std::optional<std::map<std::string, At>> fields(const At& at, const std::vector<std::string>& allowed);
  // Checks `at` is a sequence and returns its items.
  std::optional<std::vector<At>> items(const At& at);

  bool require(const std::map<std::string, At>& f, const At& parent, const std::string& key);

  std::optional<std::string> get_string(const At& at, bool allow_empty = false);
  std::optional<std::int64_t> get_int(const At& at, std::int64_t min, std::int64_t max);
  std::optional<double> get_number(const At& at, double min, double max);
  std::optional<bool> get_bool(const At& at);
  std::optional<std::vector<std::string>> get_string_list(const At& at, bool unique);
  // A YAML mapping/sequence/scalar as JSON, keeping scalar types (see ScalarKind).
  std::optional<nlohmann::json> get_json(const At& at);

  // "a mapping", "a sequence", "null", "\"text\"", "5", "true".
  static std::string describe(const YAML::Node& node);
  static Scalar resolve(const YAML::Node& node);

 private:
  bool to_json(const At& at, nlohmann::json& out);

  std::string source_;
  std::vector<std::pair<ErrorCode, std::string>> issues_;
};

// Ceilings on configuration input (docs/hardening.md). yaml-cpp keeps an alias as a
// shared node, so a few KB of aliases can stand for billions of nodes once walked: the
// budget counts every visit, shared nodes once per reference.
inline constexpr std::size_t kMaxConfigFileBytes = 1 << 20;
inline constexpr std::size_t kMaxYamlNodes = 100000;
inline constexpr int kMaxYamlDepth = 64;
// Bytes of scalar text once aliases are expanded (each reference counts its scalars
// again): a few KB of aliases to a long string would otherwise stand for gigabytes.
inline constexpr std::size_t kMaxYamlScalarBytes = 8 << 20;

// Reads a configuration file: a regular file (after symlinks) of at most `max_bytes`.
// Errors: kNotFound (missing, or a directory), kInvalidArgument (a device, FIFO or other
// non-regular file), kPayloadTooLarge (over the ceiling).
Result<std::string> read_config_file(const std::string& path, std::size_t max_bytes = kMaxConfigFileBytes);

// Parses text that must hold exactly one YAML document (valid UTF-8) of at most
// kMaxYamlNodes node visits, kMaxYamlDepth levels and kMaxYamlScalarBytes of expanded
// scalar text (kPayloadTooLarge past any). Problems are
// recorded on `reader` with kParseError (malformed) or kConfigInvalid; nullopt then.
std::optional<YAML::Node> load_document(std::string_view yaml, Reader& reader, std::string_view empty_message);

// "0"-based mark → 1-based line, or `fallback` when the node has no position.
int line_of(const YAML::Node& node, int fallback);
std::string quote(std::string_view text);

}  // namespace ladder::config_detail
