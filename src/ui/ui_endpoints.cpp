// /ui: the static pages (public: they hold no data) and /ui/api/*: JSON behind the admin
// token or an API key, read from the decision store on a worker thread.
#include "ui/ui_endpoints.h"

#include <chrono>
#include <functional>

#include "store/stats.h"
#include "store/store.h"
#include "ui/assets.h"
#include "ui/ui_api.h"

namespace ladder::ui {

using nlohmann::json;
using server::Reply;
using server::Task;
namespace http = server::http;

namespace {

Reply secured(Reply r) {
  for (auto& h : security_headers()) r.headers.push_back(std::move(h));
  return r;
}

Reply failure(const Status& s, std::string_view param = {}) { return secured(server::error_reply(s, param)); }

std::string header(const server::Request& req, http::field f) { return std::string(server::sv(req[f])); }
std::string header(const server::Request& req, std::string_view name) {
  return std::string(server::sv(req[server::beast::string_view(name.data(), name.size())]));
}

Reply no_route(const server::Request& req, const std::string& path) { return secured(server::no_route(req, path)); }

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

using Work = std::function<Result<json>()>;

// Runs `work` on a worker and answers its value as JSON; a kNotFound names `param`.
// `work` is a named value of the caller (g++ 12 destroys a class-type temporary of a
// co_await expression twice).
Task<Reply> on_worker(server::ServerContext& ctx, const Work& work, const char* param = "") {
  auto job = server::make_job(co_await server::asio::this_coro::executor);
  if (!ctx.submit(job, [job, work] { job->value = work(); })) co_return secured(ctx.queue_full());
  co_await job->wait_done();
  if (job->crashed) co_return failure(*job->crashed);
  if (!job->value->ok()) {
    const Status& s = job->value->status();
    co_return failure(s, s.code() == ErrorCode::kNotFound ? param : "");
  }
  co_return secured(server::json_reply(200, job->value->value()));
}

Reply asset_reply(std::string_view name) {
  const Asset* a = find_asset(name);
  if (!a) return failure(make_error(ErrorCode::kNotFound, "no file /ui/" + std::string(name.substr(0, 64))));
  Reply r{200, std::string(a->bytes), std::string(a->content_type), {}};
  return secured(std::move(r));
}

}  // namespace

Status UiState::open(const StoreConfig& cfg) {
  if (cfg.kind == StoreConfig::Kind::kJsonl) {
    store_.reset();
    opened_.clear();
    return make_error(ErrorCode::kNotConfigured,
                      "the policy keeps its decisions in JSONL only; the UI reads a store (store: {kind: sqlite} "
                      "or postgres)");
  }
  const std::string where = std::to_string(static_cast<int>(cfg.kind)) + ":" + cfg.path + ":" + cfg.dsn_env;
  if (store_ && opened_ == where) return {};
  auto opened = store::open_record_store(cfg);
  if (!opened.ok()) return opened.status();
  store_ = std::move(opened).value();
  opened_ = where;
  return {};
}

Task<std::optional<Reply>> ui_endpoint(server::ServerContext& ctx, UiState& ui, server::Connection& conn,
                                       const server::Request& req, const std::string& path,
                                       std::pair<int, bool>& written) {
  const bool get = req.method() == http::verb::get;
  const bool post = req.method() == http::verb::post;
  if (path == "/ui" || path == "/ui/") {
    if (!get) co_return no_route(req, path);
    co_return asset_reply("index.html");
  }
  const std::string_view rest = std::string_view(path).substr(4);  // after "/ui/"
  if (rest.rfind("api/", 0) != 0) {
    if (!get || rest.find('/') != std::string_view::npos) co_return no_route(req, path);
    co_return asset_reply(rest);
  }

  // ---- the API: credentials and cross-site guards first -------------------------------
  ApiRequestHead head;
  head.post = post;
  head.authorization = header(req, http::field::authorization);
  head.x_api_key = header(req, "x-api-key");
  head.content_type = header(req, http::field::content_type);
  head.origin = header(req, http::field::origin);
  head.host = header(req, http::field::host);
  head.sec_fetch_site = header(req, "sec-fetch-site");
  head.body_bytes = req.body().size();
  auto who = authorize(ApiAccess{ctx.opt.admin_token, &ctx.opt.keys}, head);
  if (!who.ok()) {
    ctx.gw.metrics().add("ladder_rejected_total", {{"cause", "unauthenticated"}});
    co_return failure(who.status());
  }
  std::string param;
  if (Status s = check_request_guards(head, &param); !s.ok()) co_return failure(s, param);
  server::ClientIdentity caller{*who, {}};
  if (*who != "admin")
    if (auto c = ctx.opt.keys.client(*who)) caller = *c;

  const std::string target(req.target());
  const auto q = target.find('?');
  auto query =
      parse_query(q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1), &param);
  if (!query.ok()) co_return failure(query.status(), param);
  std::shared_ptr<Router> router = ctx.gw.router();  // this request's one snapshot
  const Config& config = router->config();
  const std::string_view api = rest.substr(4);

  if (api == "meta" && get) co_return secured(server::json_reply(200, meta_json(config)));
  if (api == "dashboard" && get) {
    auto dq = parse_dashboard_query(*query, config, &param);
    if (!dq.ok()) co_return failure(dq.status(), param);
    const Work work = [&ui, router, dq = *dq]() -> Result<json> {
      return ui.with_store(router->config(), [&](store::RecordStore& s) -> Result<json> {
        store::DecisionFilter f;
        f.since_ts = store::rfc3339_seconds_ago(dq.since_seconds);
        f.task = dq.task;
        auto rows = s.query(f);
        if (!rows.ok()) return rows.status();
        return dashboard_json(*rows, router->config(), dq, now_seconds());
      });
    };
    co_return co_await on_worker(ctx, work);
  }
  if (api == "decisions" && get) {
    auto dq = parse_decision_query(*query, config, &param);
    if (!dq.ok()) co_return failure(dq.status(), param);
    const Work work = [&ui, router, dq = *dq]() -> Result<json> {
      return ui.with_store(router->config(), [&](store::RecordStore& s) -> Result<json> {
        auto rows = s.query(store_filter(dq));
        if (!rows.ok()) return rows.status();
        return decisions_page(*rows, dq);
      });
    };
    co_return co_await on_worker(ctx, work);
  }
  if (api.rfind("decisions/", 0) == 0) {
    std::string_view tail = api.substr(10);
    const bool review = tail.size() > 7 && tail.substr(tail.size() - 7) == "/review";
    if (review) tail.remove_suffix(7);
    if ((review && !post) || (!review && !get)) co_return no_route(req, path);
    auto id = parse_decision_id(tail);
    if (!id.ok()) co_return failure(id.status(), "id");
    if (!query->empty()) co_return failure(make_error(ErrorCode::kInvalidArgument, "no query parameters here"));
    if (!review) {
      const Work work = [&ui, router, id = *id]() -> Result<json> {
        return ui.with_store(router->config(), [&](store::RecordStore& s) -> Result<json> {
          store::DecisionFilter f;
          f.id = id;
          auto rows = s.query(f);
          if (!rows.ok()) return rows.status();
          if (rows->empty()) return make_error(ErrorCode::kNotFound, "no decision " + std::to_string(id));
          return decision_detail(rows->front());
        });
      };
      co_return co_await on_worker(ctx, work, "id");
    }
    auto in = parse_review(req.body(), &param);
    if (!in.ok()) co_return failure(in.status(), param);
    const Work work = [&ui, router, id = *id, in = *in, reviewer = *who]() -> Result<json> {
      return ui.with_store(router->config(), [&](store::RecordStore& s) -> Result<json> {
        if (Status st = s.put_review(id, in.label, in.note, store::rfc3339_seconds_ago(0)); !st.ok()) return st;
        return json{{"id", id}, {"review", {{"label", in.label}, {"note", in.note}}}, {"by", reviewer}};
      });
    };
    co_return co_await on_worker(ctx, work, "id");
  }
  if (api == "playground/route" && post) {
    written = co_await playground_route(ctx, conn, req, caller);
    co_return std::nullopt;
  }
  if (api == "playground/run" && post) co_return co_await playground_run(ctx, req, caller);
  co_return no_route(req, path);
}

}  // namespace ladder::ui
