// The calibration file: round trip, malformed input, another model's file.
#include "calibration/calibration_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "models/catalog.h"

namespace ladder::calibration {
namespace {

const std::string kSha = std::string(64, 'a');
const std::string kOtherSha = std::string(64, 'b');

ModelCalibration example() {
  ModelCalibration m;
  m.model_sha256 = kSha;
  m.model_file = "m.gguf";
  TaskCalibration t;
  t.method = Method::kIsotonic;
  t.platt = {1.5, -0.25};
  t.isotonic = {{0.1, 0.5, 0.9}, {0.0, 0.4, 0.95}};
  t.folds = 5;
  t.samples = 40;
  t.oof_ece = 0.05;
  t.label_thresholds = {{"bug", 0.8}, {"question", 0.6}};
  m.tasks["classify_issue"] = t;
  return m;
}

TEST(CalibrationFileTest, RoundTripsForItsModel) {
  auto parsed = parse_calibration(to_json_text(example()), "cal.json", kSha);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  ASSERT_EQ(parsed->tasks.count("classify_issue"), 1u);
  const auto& t = parsed->tasks.at("classify_issue");
  EXPECT_EQ(t.method, Method::kIsotonic);
  EXPECT_EQ(t.platt.a, 1.5);
  EXPECT_EQ(t.isotonic.y, (std::vector<double>{0.0, 0.4, 0.95}));
  EXPECT_EQ(t.label_thresholds.at("bug"), 0.8);
  EXPECT_EQ(t.apply(0.6), 0.4);
  EXPECT_EQ(parsed->model_file, "m.gguf");
}

TEST(CalibrationFileTest, CorroboratedMappingRoundTripsBesideTheMainOne) {
  ModelCalibration m = example();
  TaskCalibration own;
  own.method = Method::kPlatt;
  own.platt = {0.5, 3.0};
  own.label_thresholds = {{"bug", 0.9}};
  m.tasks["classify_issue"].corroborated = std::make_shared<const TaskCalibration>(own);
  auto parsed = parse_calibration(to_json_text(m), "cal.json", kSha);
  ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
  const auto& t = parsed->tasks.at("classify_issue");
  ASSERT_NE(t.corroborated, nullptr);
  EXPECT_EQ(t.corroborated->method, Method::kPlatt);
  EXPECT_EQ(t.corroborated->platt.b, 3.0);
  EXPECT_EQ(t.corroborated->label_thresholds.at("bug"), 0.9);
  EXPECT_EQ(t.corroborated->corroborated, nullptr);
  EXPECT_EQ(t.apply(0.6), 0.4) << "the main mapping is unchanged";
  EXPECT_EQ(parse_calibration(to_json_text(example()), "cal.json", kSha)->tasks.at("classify_issue").corroborated,
            nullptr);
}

TEST(CalibrationFileTest, ACorroboratedEntryInsideAnotherIsRefused) {
  auto doc = nlohmann::json::parse(to_json_text(example()));
  auto& task = doc["models"][kSha]["tasks"]["classify_issue"];
  nlohmann::json own = task;
  own["corroborated"] = task;
  task["corroborated"] = own;
  auto parsed = parse_calibration(doc.dump(), "cal.json", kSha);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), ErrorCode::kParseError);
  EXPECT_NE(parsed.status().message().find("tasks.classify_issue.corroborated.corroborated: not allowed"),
            std::string::npos)
      << parsed.status().message();
}

TEST(CalibrationFileTest, AnotherModelsFileIsRefusedNamingTheHashes) {
  auto parsed = parse_calibration(to_json_text(example()), "cal.json", kOtherSha);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(parsed.status().message().find("no calibration for the model file with sha256 " + kOtherSha),
            std::string::npos)
      << parsed.status().message();
  EXPECT_NE(parsed.status().message().find("the file holds: " + kSha), std::string::npos);
}

TEST(CalibrationFileTest, MalformedFilesAreParseErrorsSayingWhere) {
  std::string good = to_json_text(example());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    const auto at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) s.replace(at, from.size(), to);
    return s;
  };
  struct Bad {
    std::string text;
    const char* needle;
  } bad[] = {
      {"{", "malformed JSON"},
      {"[]", "format"},
      {"\xff", "malformed JSON"},
      {with("ladder-calibration-1", "v0"), "format"},
      {with("\"isotonic\",", "\"cubic\","), "method"},
      {with("\"a\": 1.5", "\"a\": \"1.5\""), "platt"},
      {with("0.95", "0.3"), "non-decreasing"},
      {with("\"bug\": 0.8", "\"bug\": 1.8"), "label_thresholds.bug"},
      {R"({"format":"ladder-calibration-1","models":[]})", "models"},
      {with("\"folds\"", "\"corroborated\": 7, \"folds\""), "tasks.classify_issue.corroborated: expected an object"},
      {with("\"folds\"", "\"corroborated\": {\"method\": \"cubic\"}, \"folds\""),
       "tasks.classify_issue.corroborated.method"},
  };
  for (const auto& b : bad) {
    auto parsed = parse_calibration(b.text, "cal.json", kSha);
    ASSERT_FALSE(parsed.ok()) << b.text;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kParseError) << b.text;
    EXPECT_NE(parsed.status().message().find(b.needle), std::string::npos) << parsed.status().message();
    EXPECT_EQ(parsed.status().message().rfind("cal.json: ", 0), 0u) << parsed.status().message();
  }
}

TEST(CalibrationFileTest, FileSha256OfKnownBytes) {
  const auto path = std::filesystem::temp_directory_path() / ("ladder-sha-" + std::to_string(getpid()));
  std::ofstream(path) << "abc";
  auto sha = file_sha256(path.string());
  std::filesystem::remove(path);
  ASSERT_TRUE(sha.ok()) << sha.status().to_string();
  EXPECT_EQ(*sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(file_sha256("/nonexistent/model.gguf").status().code(), ErrorCode::kNotFound);
}

// Each shipped calibration (examples/maintainer/calibration/) is named after a packaged
// model's file and holds the entry for that model's sha256, with classify_issue fitted.
TEST(CalibrationFileTest, ShippedFilesAreKeyedByTheirPackagedModel) {
  const std::filesystem::path dir = LADDER_SOURCE_DIR "/examples/maintainer/calibration";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    SCOPED_TRACE(entry.path().string());
    const std::string gguf = entry.path().stem().string() + ".gguf";
    const models::CatalogEntry* model = models::find_by_file(gguf);
    ASSERT_NE(model, nullptr) << "no packaged model " << gguf;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto parsed = parse_calibration(text, entry.path().string(), model->sha256);
    ASSERT_TRUE(parsed.ok()) << parsed.status().to_string();
    EXPECT_EQ(parsed->model_file, gguf);
    EXPECT_EQ(parsed->tasks.count("classify_issue"), 1u);
  }
  EXPECT_GE(files, 2);
}

}  // namespace
}  // namespace ladder::calibration
