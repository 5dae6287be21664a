#include "router/input_reduction.h"

#include "preprocess/log_reducer.h"

namespace ladder {

std::optional<InputReduction> reduce_task_input(const TaskConfig& task, std::string_view input) {
  if (!task.reduce) return std::nullopt;
  LogReduceOptions options;
  options.max_tokens = task.reduce->max_tokens;
  options.context_lines = task.reduce->context_lines;
  options.tail_lines = task.reduce->tail_lines;
  ReducedLog reduced = reduce_log(input, options);
  InputReduction out;
  out.text = std::move(reduced.text);
  out.original_bytes = reduced.original_bytes;
  out.original_lines = reduced.original_lines;
  out.kept_lines = reduced.kept_lines;
  out.decisive_lines = reduced.decisive_lines;
  out.tokens = reduced.tokens;
  return out;
}

void describe_reduction(nlohmann::json& packet, const InputReduction& reduction) {
  packet["input_reduced"] = {
      {"original_bytes", reduction.original_bytes},
      {"original_lines", reduction.original_lines},
      {"kept_lines", reduction.kept_lines},
      {"note", "the log was reduced to its decisive lines; \"... (N ...)\" marks what was left out"}};
}

}  // namespace ladder
