// ladder review sample | label ID accept|defect | export   (--policy FILE)
#include <algorithm>
#include <ctime>
#include <iostream>
#include <memory>
#include <random>

#include "cli/commands.h"
#include "cli/common.h"
#include "ladder/utf8.h"
#include "store/record_fields.h"
#include "store/stats.h"

namespace ladder::cli {
namespace {

struct ReviewArgs {
  std::string policy;
  std::string task;
  int n = 10;
  unsigned seed = 1;
  std::string id;
  std::string label;
  std::string note;
};

Result<PolicyStore> open_for(const ReviewArgs& a, store::DecisionFilter& filter) {
  auto opened = open_policy_store(a.policy);
  if (!opened.ok()) return opened.status();
  if (!a.task.empty()) {
    if (!opened->config->find_task(a.task))
      return make_error(ErrorCode::kNotFound, "--task: no task '" + a.task + "' in the policy");
    filter.task = a.task;
  }
  return opened;
}

// Unreviewed local answers, `n` of them drawn with `seed` (the same seed, the same sample).
int run_sample(const ReviewArgs& a) {
  store::DecisionFilter filter;
  auto opened = open_for(a, filter);
  if (!opened.ok()) return report_error(opened.status());
  auto decisions = opened->store->query(filter);
  if (!decisions.ok()) return report_error(decisions.status());
  std::vector<const store::StoredDecision*> pool;
  for (const auto& d : *decisions)
    if (d.review.empty() && store::string_field(d.record, "route") == "local") pool.push_back(&d);
  std::mt19937 rng(a.seed);
  std::shuffle(pool.begin(), pool.end(), rng);
  pool.resize(std::min(pool.size(), static_cast<std::size_t>(a.n)));
  std::sort(pool.begin(), pool.end(), [](auto* x, auto* y) { return x->id < y->id; });
  for (const auto* d : pool) {
    const nlohmann::json& r = d->record;
    nlohmann::json line = {{"id", d->id},
                           {"ts", r.value("ts", nlohmann::json(nullptr))},
                           {"task", r.value("task", nlohmann::json(nullptr))},
                           {"label", r.value("label", nlohmann::json(nullptr))},
                           {"confidence", r.value("confidence", nlohmann::json(nullptr))},
                           {"preview", r.value("preview", nlohmann::json(nullptr))}};
    std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

int run_label(const ReviewArgs& a) {
  std::int64_t id = 0;
  const bool digits = !a.id.empty() && a.id.size() <= 18 &&
                      std::all_of(a.id.begin(), a.id.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (digits) id = std::stoll(a.id);
  if (!digits || id <= 0)
    return report_error(
        make_error(ErrorCode::kInvalidArgument,
                   "ID: expected a decision id (a positive integer), got '" + a.id.substr(0, 40) + "'"));
  if (a.note.size() > 4000 || !valid_utf8(a.note))
    return report_error(make_error(ErrorCode::kInvalidArgument, "--note: at most 4000 bytes of valid UTF-8"));
  auto opened = open_policy_store(a.policy);
  if (!opened.ok()) return report_error(opened.status());
  if (Status s = opened->store->put_review(id, a.label, a.note, store::rfc3339_seconds_ago(0)); !s.ok())
    return report_error(s);
  std::cout << "decision " << id << ": " << a.label << "\n";
  return 0;
}

// Reviewed decisions as corpus lines (eval/README.md): an accepted local answer expects
// its label locally; a defect expects the frontier.
int run_export(const ReviewArgs& a) {
  store::DecisionFilter filter;
  auto opened = open_for(a, filter);
  if (!opened.ok()) return report_error(opened.status());
  auto decisions = opened->store->query(filter);
  if (!decisions.ok()) return report_error(decisions.status());
  for (const auto& d : *decisions) {
    if (d.review.empty()) continue;
    const nlohmann::json& r = d.record;
    const std::string input =
        r.contains("raw_prompt") ? store::string_field(r, "raw_prompt") : store::string_field(r, "preview");
    nlohmann::json expect = {{"route", d.review == "accept" ? "local" : "frontier"}};
    if (d.review == "accept" && r.contains("label") && r["label"].is_string()) expect["label"] = r["label"];
    nlohmann::json line = {{"id", "review-" + std::to_string(d.id)},
                           {"task", store::string_field(r, "task")},
                           {"input", input},
                           {"expect", expect},
                           {"review", d.review}};
    if (!d.review_note.empty()) line["note"] = d.review_note;
    std::cout << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  return 0;
}

}  // namespace

Command add_review_command(CLI::App& app) {
  auto args = std::make_shared<ReviewArgs>();
  CLI::App* review = app.add_subcommand("review", "Review stored local answers (accept or defect)");
  review->require_subcommand(1);
  CLI::App* sample = review->add_subcommand("sample", "Print unreviewed local answers to review, one JSON per line");
  CLI::App* label = review->add_subcommand("label", "Mark a decision accept or defect");
  CLI::App* exp = review->add_subcommand("export", "Print reviewed decisions as corpus lines");
  for (CLI::App* sub : {sample, label, exp})
    sub->add_option("--policy", args->policy, "policy YAML file (its store: section)")->required();
  for (CLI::App* sub : {sample, exp}) sub->add_option("--task", args->task, "only this task");
  sample->add_option("--n", args->n, "how many")->check(CLI::Range(1, 1000));
  sample->add_option("--seed", args->seed, "the same seed draws the same sample");
  label->add_option("id", args->id, "decision id (from review sample)")->required();
  label->add_option("label", args->label, "accept or defect")->required()->check(CLI::IsMember({"accept", "defect"}));
  label->add_option("--note", args->note, "why");
  return {review, [args, sample, label] {
            if (sample->parsed()) return run_sample(*args);
            if (label->parsed()) return run_label(*args);
            return run_export(*args);
          }};
}

}  // namespace ladder::cli
