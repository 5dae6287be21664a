#include "calibration/calibration_file.h"

#include <openssl/evp.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <memory>

#include <nlohmann/json.hpp>

namespace ladder::calibration {
namespace {

using nlohmann::json;

Status bad(const std::string& source, const std::string& what) {
  return make_error(ErrorCode::kParseError, source + ": " + what);
}

bool is_number_array(const json& j) {
  if (!j.is_array()) return false;
  for (const auto& v : j)
    if (!v.is_number()) return false;
  return true;
}

}  // namespace

Result<std::string> file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kNotFound, "cannot read model file '" + path + "'");
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return make_error(ErrorCode::kInternal, "sha256 unavailable");
  std::array<char, 1 << 16> buf{};
  while (in) {
    in.read(buf.data(), buf.size());
    if (in.gcount() > 0 && EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(in.gcount())) != 1)
      return make_error(ErrorCode::kInternal, "sha256 update failed");
  }
  if (in.bad()) return make_error(ErrorCode::kUnavailable, "error reading model file '" + path + "'");
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx.get(), digest.data(), &n) != 1) return make_error(ErrorCode::kInternal, "sha256 failed");
  std::string hex;
  for (unsigned int i = 0; i < n; ++i) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", digest[i]);
    hex += two;
  }
  return hex;
}

namespace {

json task_json(const TaskCalibration& t) {
  json j = {{"method", method_name(t.method)},
            {"platt", {{"a", t.platt.a}, {"b", t.platt.b}}},
            {"isotonic", {{"x", t.isotonic.x}, {"y", t.isotonic.y}}},
            {"folds", t.folds},
            {"samples", t.samples},
            {"out_of_fold", {{"ece", t.oof_ece}, {"brier", t.oof_brier}, {"log_loss", t.oof_log_loss}}},
            {"raw_ece", t.raw_ece},
            {"label_thresholds", t.label_thresholds}};
  if (t.corroborated) j["corroborated"] = task_json(*t.corroborated);
  return j;
}

}  // namespace

std::string to_json_text(const ModelCalibration& model) {
  json tasks = json::object();
  for (const auto& [name, t] : model.tasks) tasks[name] = task_json(t);
  json doc = {{"format", kFileFormat},
              {"models", {{model.model_sha256, {{"model_file", model.model_file}, {"tasks", tasks}}}}}};
  return doc.dump(2) + "\n";
}

namespace {

// One task's entry (or its "corroborated" entry, which holds no further one).
Result<TaskCalibration> parse_task(const json& t, const std::string& source, const std::string& where, bool nested) {
  if (!t.is_object()) return bad(source, where + ": expected an object");
  TaskCalibration tc;
  if (!t.contains("method") || !t["method"].is_string() || (t["method"] != "platt" && t["method"] != "isotonic"))
    return bad(source, where + ".method: expected \"platt\" or \"isotonic\"");
  tc.method = t["method"] == "platt" ? Method::kPlatt : Method::kIsotonic;
  if (!t.contains("platt") || !t["platt"].is_object() || !t["platt"].contains("a") || !t["platt"]["a"].is_number() ||
      !t["platt"].contains("b") || !t["platt"]["b"].is_number())
    return bad(source, where + ".platt: expected {a: number, b: number}");
  tc.platt = {t["platt"]["a"].get<double>(), t["platt"]["b"].get<double>()};
  if (!t.contains("isotonic") || !t["isotonic"].is_object() || !is_number_array(t["isotonic"].value("x", json())) ||
      !is_number_array(t["isotonic"].value("y", json())) || t["isotonic"]["x"].size() != t["isotonic"]["y"].size())
    return bad(source, where + ".isotonic: expected {x: [numbers], y: [numbers]} of one length");
  tc.isotonic.x = t["isotonic"]["x"].get<std::vector<double>>();
  tc.isotonic.y = t["isotonic"]["y"].get<std::vector<double>>();
  for (std::size_t i = 1; i < tc.isotonic.x.size(); ++i)
    if (tc.isotonic.x[i] < tc.isotonic.x[i - 1] || tc.isotonic.y[i] < tc.isotonic.y[i - 1])
      return bad(source, where + ".isotonic: knots must be non-decreasing");
  if (tc.method == Method::kIsotonic && tc.isotonic.x.empty())
    return bad(source, where + ".isotonic: method isotonic needs at least one knot");
  if (t.contains("label_thresholds")) {
    if (!t["label_thresholds"].is_object()) return bad(source, where + ".label_thresholds: expected an object");
    for (const auto& [label, v] : t["label_thresholds"].items()) {
      if (!v.is_number() || v.get<double>() < 0.0 || v.get<double>() > 1.0)
        return bad(source, where + ".label_thresholds." + label + ": expected a number in [0, 1]");
      tc.label_thresholds[label] = v.get<double>();
    }
  }
  tc.folds = t.value("folds", 0);
  tc.samples = t.value("samples", std::size_t{0});
  if (t.contains("out_of_fold") && t["out_of_fold"].is_object()) {
    tc.oof_ece = t["out_of_fold"].value("ece", 0.0);
    tc.oof_brier = t["out_of_fold"].value("brier", 0.0);
    tc.oof_log_loss = t["out_of_fold"].value("log_loss", 0.0);
  }
  tc.raw_ece = t.value("raw_ece", 0.0);
  if (t.contains("corroborated")) {
    if (nested) return bad(source, where + ".corroborated: not allowed inside a corroborated entry");
    auto c = parse_task(t["corroborated"], source, where + ".corroborated", /*nested=*/true);
    if (!c.ok()) return c.status();
    tc.corroborated = std::make_shared<const TaskCalibration>(std::move(c).value());
  }
  return tc;
}

}  // namespace

Result<ModelCalibration> parse_calibration(std::string_view text, const std::string& source,
                                           const std::string& model_sha256) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    return bad(source, std::string("malformed JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("format") || doc["format"] != kFileFormat)
    return bad(source, std::string("format: expected \"") + kFileFormat + "\"");
  if (!doc.contains("models") || !doc["models"].is_object()) return bad(source, "models: expected an object");
  const auto& models = doc["models"];
  if (!models.contains(model_sha256)) {
    std::string held;
    for (const auto& [sha, _] : models.items()) held += (held.empty() ? "" : ", ") + sha;
    return make_error(ErrorCode::kConfigInvalid, source + ": no calibration for the model file with sha256 " +
                                                     model_sha256 +
                                                     " (the file holds: " + (held.empty() ? "none" : held) + ")");
  }
  const auto& m = models[model_sha256];
  if (!m.is_object() || !m.contains("tasks") || !m["tasks"].is_object())
    return bad(source, "models." + model_sha256 + ".tasks: expected an object");
  ModelCalibration out;
  out.model_sha256 = model_sha256;
  if (m.contains("model_file") && m["model_file"].is_string()) out.model_file = m["model_file"];
  for (const auto& [name, t] : m["tasks"].items()) {
    auto tc = parse_task(t, source, "tasks." + name, /*nested=*/false);
    if (!tc.ok()) return tc.status();
    out.tasks[name] = std::move(tc).value();
  }
  return out;
}

}  // namespace ladder::calibration
