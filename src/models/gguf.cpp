#include "models/gguf.h"

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <istream>
#include <sstream>

namespace ladder::models {
namespace {

enum GgufType : std::uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

// Size in bytes of a fixed-width value type; 0 for string, array and unknown types.
std::uint64_t fixed_size(std::uint32_t type) {
  switch (type) {
    case kU8:
    case kI8:
    case kBool:
      return 1;
    case kU16:
    case kI16:
      return 2;
    case kU32:
    case kI32:
    case kF32:
      return 4;
    case kU64:
    case kI64:
    case kF64:
      return 8;
    default:
      return 0;
  }
}

// Bounded little-endian reads from a stream whose total size is known up front, so a
// claimed length is checked against the bytes left before anything is allocated.
class Reader {
 public:
  Reader(std::istream& in, std::uint64_t size, const GgufLimits& limits) : in_(in), size_(size), limits_(limits) {}

  Status read(void* dst, std::uint64_t n, std::string_view what) {
    if (n > size_ - offset_) return truncated(what);
    in_.read(static_cast<char*>(dst), static_cast<std::streamsize>(n));
    if (static_cast<std::uint64_t>(in_.gcount()) != n) return truncated(what);
    offset_ += n;
    return {};
  }
  Status skip(std::uint64_t n, std::string_view what) {
    if (n > size_ - offset_) return truncated(what);
    in_.seekg(static_cast<std::streamoff>(n), std::ios::cur);
    if (!in_) return truncated(what);
    offset_ += n;
    return {};
  }
  template <typename T>
  Status read_int(T& v, std::string_view what) {
    std::array<unsigned char, sizeof(T)> b{};
    if (auto s = read(b.data(), b.size(), what); !s.ok()) return s;
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) u |= static_cast<std::uint64_t>(b[i]) << (8 * i);
    v = static_cast<T>(u);
    return {};
  }
  // A GGUF string: uint64 length, then bytes. Lengths over `max` are refused.
  Status read_string(std::string& s, std::uint64_t max, std::string_view what) {
    std::uint64_t n = 0;
    if (auto st = read_int(n, what); !st.ok()) return st;
    if (n > max)
      return make_error(ErrorCode::kPayloadTooLarge, std::string(what) + " claims " + std::to_string(n) +
                                                         " bytes (limit " + std::to_string(max) + ") at offset " +
                                                         std::to_string(offset_ - 8));
    if (n > size_ - offset_) return truncated(what);
    s.resize(n);
    return read(s.data(), n, what);
  }
  std::uint64_t offset() const { return offset_; }
  const GgufLimits& limits() const { return limits_; }

 private:
  Status truncated(std::string_view what) const {
    return make_error(ErrorCode::kParseError, "truncated GGUF: file ends at byte " + std::to_string(size_) +
                                                  " while reading " + std::string(what) + " at offset " +
                                                  std::to_string(offset_));
  }
  std::istream& in_;
  std::uint64_t size_;
  std::uint64_t offset_ = 0;
  const GgufLimits& limits_;
};

Status bad_type(std::uint32_t type, const std::string& key) {
  return make_error(ErrorCode::kParseError, "GGUF key '" + key + "' has unknown value type " + std::to_string(type));
}

// Reads one value of `type`; scalars and strings are returned, arrays as type + length.
Status read_value(Reader& r, std::uint32_t type, const std::string& key, int depth, GgufValue* out) {
  switch (type) {
    case kU8: {
      std::uint8_t v = 0;
      if (auto s = r.read_int(v, key); !s.ok()) return s;
      if (out) *out = std::uint64_t{v};
      return {};
    }
    case kI8: {
      std::int8_t v = 0;
      if (auto s = r.read_int(v, key); !s.ok()) return s;
      if (out) *out = std::int64_t{v};
      return {};
    }
    case kU16: {
      std::uint16_t v = 0;
      if (auto s = r.read_int(v, key); !s.ok()) return s;
      if (out) *out = std::uint64_t{v};
      return {};
    }
    case kI16: {
      std::int16_t v = 0;
      if (auto s = r.read_int(v, key); !s.ok()) return s;
      if (out) *out = std::int64_t{v};
      return {};
    }
    case kU32: {
      std::uint32_t v = 0;
      if (auto s = r.read_int(v, key); !s.ok()) return s;
      if (out) *out = std::uint64_t{v};
      return {};
    }
    case kI32: {
      std::int32_t v = 0;
      if (auto s = r.read_int(v, key); !s.ok()) return s;
      if (out) *out = std::int64_t{v};
      return {};
    }
    case kU64: {
      std::uint64_t v = 0;
      if (auto s = r.read_int(v, key); !s.ok()) return s;
      if (out) *out = v;
      return {};
    }
    case kI64: {
      std::int64_t v = 0;
      if (auto s = r.read_int(v, key); !s.ok()) return s;
      if (out) *out = v;
      return {};
    }
    case kF32: {
      std::uint32_t bits = 0;
      if (auto s = r.read_int(bits, key); !s.ok()) return s;
      float f = 0;
      std::memcpy(&f, &bits, sizeof f);
      if (out) *out = static_cast<double>(f);
      return {};
    }
    case kF64: {
      std::uint64_t bits = 0;
      if (auto s = r.read_int(bits, key); !s.ok()) return s;
      double d = 0;
      std::memcpy(&d, &bits, sizeof d);
      if (out) *out = d;
      return {};
    }
    case kBool: {
      std::uint8_t v = 0;
      if (auto s = r.read_int(v, key); !s.ok()) return s;
      if (v > 1)
        return make_error(ErrorCode::kParseError, "GGUF key '" + key + "' has bool value " + std::to_string(v));
      if (out) *out = v == 1;
      return {};
    }
    case kString: {
      std::string s;
      if (auto st = r.read_string(s, r.limits().max_string_bytes, "value of '" + key + "'"); !st.ok()) return st;
      if (out) *out = std::move(s);
      return {};
    }
    case kArray: {
      if (depth >= r.limits().max_array_depth)
        return make_error(ErrorCode::kPayloadTooLarge, "GGUF key '" + key + "' nests arrays deeper than " +
                                                           std::to_string(r.limits().max_array_depth));
      GgufArray a;
      if (auto s = r.read_int(a.item_type, key); !s.ok()) return s;
      if (auto s = r.read_int(a.count, key); !s.ok()) return s;
      if (a.count > r.limits().max_array_items)
        return make_error(ErrorCode::kPayloadTooLarge, "GGUF key '" + key + "' claims an array of " +
                                                           std::to_string(a.count) + " items (limit " +
                                                           std::to_string(r.limits().max_array_items) + ")");
      if (std::uint64_t w = fixed_size(a.item_type); w != 0) {
        if (auto s = r.skip(a.count * w, "array '" + key + "'"); !s.ok()) return s;
      } else if (a.item_type == kString || a.item_type == kArray) {
        for (std::uint64_t i = 0; i < a.count; ++i)
          if (auto s = read_value(r, a.item_type, key, depth + 1, nullptr); !s.ok()) return s;
      } else {
        return bad_type(a.item_type, key);
      }
      if (out) *out = a;
      return {};
    }
    default:
      return bad_type(type, key);
  }
}

std::string string_meta(const GgufInfo& info, const std::string& key) {
  auto it = info.metadata.find(key);
  if (it == info.metadata.end()) return {};
  if (const auto* s = std::get_if<std::string>(&it->second)) return *s;
  return {};
}

std::optional<std::uint64_t> uint_meta(const GgufInfo& info, const std::string& key) {
  auto it = info.metadata.find(key);
  if (it == info.metadata.end()) return std::nullopt;
  if (const auto* u = std::get_if<std::uint64_t>(&it->second)) return *u;
  if (const auto* i = std::get_if<std::int64_t>(&it->second); i && *i >= 0) return static_cast<std::uint64_t>(*i);
  return std::nullopt;
}

Result<GgufInfo> parse(std::istream& in, std::uint64_t size, const GgufLimits& limits) {
  Reader r(in, size, limits);
  GgufInfo info;
  std::array<char, 4> magic{};
  if (size < 4 || !r.read(magic.data(), 4, "magic").ok() || std::string_view(magic.data(), 4) != "GGUF")
    return make_error(ErrorCode::kParseError, "not a GGUF file (no GGUF magic in the first 4 bytes)");
  if (auto s = r.read_int(info.version, "version"); !s.ok()) return s;
  if (info.version < 2 || info.version > 3)
    return make_error(ErrorCode::kParseError,
                      "unsupported GGUF version " + std::to_string(info.version) + " (supported: 2, 3)");
  if (auto s = r.read_int(info.tensor_count, "tensor count"); !s.ok()) return s;
  if (auto s = r.read_int(info.kv_count, "metadata count"); !s.ok()) return s;
  if (info.tensor_count > limits.max_tensors)
    return make_error(ErrorCode::kPayloadTooLarge, "GGUF claims " + std::to_string(info.tensor_count) +
                                                       " tensors (limit " + std::to_string(limits.max_tensors) + ")");
  if (info.kv_count > limits.max_kv)
    return make_error(ErrorCode::kPayloadTooLarge, "GGUF claims " + std::to_string(info.kv_count) +
                                                       " metadata entries (limit " + std::to_string(limits.max_kv) +
                                                       ")");
  for (std::uint64_t i = 0; i < info.kv_count; ++i) {
    std::string key;
    if (auto s = r.read_string(key, limits.max_key_bytes, "metadata key"); !s.ok()) return s;
    std::uint32_t type = 0;
    if (auto s = r.read_int(type, "type of '" + key + "'"); !s.ok()) return s;
    GgufValue value;
    if (auto s = read_value(r, type, key, 0, &value); !s.ok()) return s;
    info.metadata.insert_or_assign(std::move(key), std::move(value));
  }
  info.architecture = string_meta(info, "general.architecture");
  info.name = string_meta(info, "general.name");
  if (auto ft = uint_meta(info, "general.file_type"); ft && *ft <= 0xffffffffu) {
    info.file_type = static_cast<std::uint32_t>(*ft);
    info.quantization = quantization_name(*info.file_type);
  }
  if (!info.architecture.empty()) info.context_length = uint_meta(info, info.architecture + ".context_length");
  return info;
}

}  // namespace

std::string quantization_name(std::uint32_t file_type) {
  // llama.cpp's enum llama_ftype (include/llama.h); gaps are retired values.
  static const std::map<std::uint32_t, std::string_view> kNames = {
      {0, "F32"},     {1, "F16"},     {2, "Q4_0"},       {3, "Q4_1"},    {7, "Q8_0"},     {8, "Q5_0"},
      {9, "Q5_1"},    {10, "Q2_K"},   {11, "Q3_K_S"},    {12, "Q3_K_M"}, {13, "Q3_K_L"},  {14, "Q4_K_S"},
      {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"},    {18, "Q6_K"},   {19, "IQ2_XXS"}, {20, "IQ2_XS"},
      {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"},   {24, "IQ1_S"},  {25, "IQ4_NL"},  {26, "IQ3_S"},
      {27, "IQ3_M"},  {28, "IQ2_S"},  {29, "IQ2_M"},     {30, "IQ4_XS"}, {31, "IQ1_M"},   {32, "BF16"},
      {36, "TQ1_0"},  {37, "TQ2_0"},  {38, "MXFP4_MOE"},
  };
  auto it = kNames.find(file_type);
  return it == kNames.end() ? "type " + std::to_string(file_type) : std::string(it->second);
}

Result<GgufInfo> read_gguf_header(const std::string& path, const GgufLimits& limits) {
  std::error_code ec;
  auto st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) return make_error(ErrorCode::kNotFound, "model file not found: " + path);
  if (!std::filesystem::is_regular_file(st))
    return make_error(ErrorCode::kInvalidArgument, "model path is not a regular file: " + path);
  std::uint64_t size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kUnavailable, "cannot read model file " + path + ": " + ec.message());
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorCode::kUnavailable, "cannot open model file " + path);
  auto info = parse(in, size, limits);
  if (!info.ok()) return Status(info.status().code(), path + ": " + info.status().message());
  return info;
}

Result<GgufInfo> parse_gguf_header(std::string_view bytes, const GgufLimits& limits) {
  std::istringstream in{std::string(bytes)};
  return parse(in, bytes.size(), limits);
}

}  // namespace ladder::models
