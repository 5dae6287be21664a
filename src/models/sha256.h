// SHA-256 of a file, streamed through OpenSSL's EVP interface.
#pragma once

#include <string>

#include "ladder/status.h"

namespace ladder::models {

// Lower-case hex digest. kNotFound / kUnavailable when the file cannot be read.
Result<std::string> sha256_file(const std::string& path);

}  // namespace ladder::models
