// The web UI's static files (src/ui/assets), compiled into the binary by
// embed_assets.cmake: ladder serves them from memory, never from disk or a CDN.
#pragma once

#include <span>
#include <string_view>

namespace ladder::ui {

struct EmbeddedFile {
  std::string_view name;  // the file's name under assets/ ("app.js")
  std::string_view bytes;
};

// Every embedded file (defined in the generated ui_assets_data.cpp).
std::span<const EmbeddedFile> embedded_files();

struct Asset {
  std::string_view bytes;
  std::string_view content_type;
};

// The file named `name` with its content type; nullptr when there is none. Names are
// matched exactly (no paths: "a/../b" finds nothing).
const Asset* find_asset(std::string_view name);

}  // namespace ladder::ui
