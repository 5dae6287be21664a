#include "ui/assets.h"

#include <map>
#include <string>

namespace ladder::ui {
namespace {

std::string_view content_type_of(std::string_view name) {
  auto ends = [name](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

const std::map<std::string, Asset, std::less<>>& assets() {
  static const auto* table = [] {
    auto* t = new std::map<std::string, Asset, std::less<>>();
    for (const auto& f : embedded_files()) (*t)[std::string(f.name)] = Asset{f.bytes, content_type_of(f.name)};
    return t;
  }();
  return *table;
}

}  // namespace

const Asset* find_asset(std::string_view name) {
  auto it = assets().find(name);
  return it == assets().end() ? nullptr : &it->second;
}

}  // namespace ladder::ui
