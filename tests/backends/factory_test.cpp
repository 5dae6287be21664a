#include "backends/factory.h"

#include <gtest/gtest.h>

namespace ladder {
namespace {

ModelConfig model(const std::string& backend, const std::string& base_url = "http://127.0.0.1:9") {
  ModelConfig m;
  m.name = "m1";
  m.backend = backend;
  m.base_url = base_url;
  m.model = "some-model";
  return m;
}

TEST(Factory, BuildsEachNetworkBackend) {
  for (const char* kind : {"openai", "ollama", "anthropic"}) {
    auto backend = make_backend(model(kind));
    ASSERT_TRUE(backend.ok()) << kind << ": " << backend.status().to_string();
    EXPECT_EQ(backend.value()->kind(), kind);
    EXPECT_EQ(backend.value()->model(), "some-model");
  }
}

TEST(Factory, UnknownBackendIsConfigInvalid) {
  auto backend = make_backend(model("gpt-magic"));
  ASSERT_FALSE(backend.ok());
  EXPECT_EQ(backend.status().code(), ErrorCode::kConfigInvalid);
  EXPECT_NE(backend.status().message().find("models.m1.backend"), std::string::npos);
  EXPECT_NE(backend.status().message().find("gpt-magic"), std::string::npos);
}

TEST(Factory, BadBaseUrlIsConfigInvalid) {
  for (const char* kind : {"openai", "ollama", "anthropic"}) {
    for (const char* url : {"", "127.0.0.1:8080", "ftp://host"}) {
      auto backend = make_backend(model(kind, url));
      ASSERT_FALSE(backend.ok()) << kind << " " << url;
      EXPECT_EQ(backend.status().code(), ErrorCode::kConfigInvalid) << kind << " " << url;
      EXPECT_NE(backend.status().message().find("models.m1.base_url"), std::string::npos);
    }
  }
}

TEST(Factory, EmbeddedIsDispatchedNotUnknown) {
  ModelConfig m = model("embedded");
  m.model_path = "/nonexistent/ladder-test-model.gguf";
  auto backend = make_backend(m);
  ASSERT_FALSE(backend.ok());
  // Either the embedded backend ran and could not find the file, or this build has no
  // embedded backend; never "unknown backend".
  EXPECT_TRUE(backend.status().code() == ErrorCode::kNotFound || backend.status().code() == ErrorCode::kUnavailable)
      << backend.status().to_string();
  EXPECT_EQ(backend.status().message().find("unknown backend"), std::string::npos);
}

}  // namespace
}  // namespace ladder
