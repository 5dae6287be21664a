// A real PostgreSQL server for a test suite: initdb + pg_ctl from the PostgreSQL 15
// binaries in a temp folder, Unix socket only (no TCP port to clash), as the user nobody
// when the tests run as root (postgres refuses root). started() is false when the
// binaries are absent; the suites then skip.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace ladder::store {

namespace fs = std::filesystem;

inline const std::string kPgBin = "/usr/lib/postgresql/15/bin";

// Runs a shell command, as `user` when not empty; true on exit status 0.
inline bool shell(const std::string& command, const std::string& user) {
  const std::string full = user.empty() ? command : "runuser -u " + user + " -- " + command;
  return std::system(full.c_str()) == 0;
}

class PostgresServer {
 public:
  PostgresServer() {
    dir_ = fs::temp_directory_path() / ("ladder-pg-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (::geteuid() == 0) {  // postgres refuses to run as root
      user_ = "nobody";
      const passwd* pw = ::getpwnam(user_.c_str());
      if (!pw || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) return;
    }
    const std::string data = (dir_ / "data").string();
    if (!shell(kPgBin + "/initdb -D " + data + " -A trust -U ladder --no-sync -E UTF8 > " +
                   (dir_ / "initdb.log").string() + " 2>&1",
               user_))
      return;
    // Port: any; only a Unix socket in dir_ is opened (listen_addresses=''), so no clash.
    port_ = 5400 + ::getpid() % 500;
    started_ = start();
  }
  ~PostgresServer() {
    if (started_) stop();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  // Stops the server at once (clients see their connections end) / starts it again.
  bool stop() {
    return shell(kPgBin + "/pg_ctl -D " + (dir_ / "data").string() + " -m immediate stop > /dev/null", user_);
  }
  bool start() {
    const std::string opts =
        "-c listen_addresses='' -k " + dir_.string() + " -p " + std::to_string(port_) + " -c fsync=off";
    return shell(kPgBin + "/pg_ctl -D " + (dir_ / "data").string() + " -w -t 60 -l " + (dir_ / "server.log").string() +
                     " -o \"" + opts + "\" start > /dev/null",
                 user_);
  }
  bool started() const { return started_; }
  std::string dsn(const std::string& db = "postgres") const {
    return "host=" + dir_.string() + " port=" + std::to_string(port_) + " user=ladder dbname=" + db;
  }
  // A fresh database per test.
  std::string create_db() {
    static std::atomic<int> n{0};
    const std::string name = "t" + std::to_string(n++);
    PGconn* c = PQconnectdb(dsn().c_str());
    PGresult* r = PQexec(c, ("CREATE DATABASE " + name).c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQerrorMessage(c);
    PQclear(r);
    PQfinish(c);
    return dsn(name);
  }

 private:
  fs::path dir_;
  std::string user_;
  int port_ = 0;
  bool started_ = false;
};

// One connection for setting up and reading back.
class Pg {
 public:
  explicit Pg(const std::string& dsn) : c_(PQconnectdb(dsn.c_str())) {
    EXPECT_EQ(PQstatus(c_), CONNECTION_OK) << PQerrorMessage(c_);
  }
  ~Pg() { PQfinish(c_); }
  void exec(const std::string& sql) {
    PGresult* r = PQexec(c_, sql.c_str());
    EXPECT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK) << PQerrorMessage(c_);
    PQclear(r);
  }
  std::vector<std::string> column(const std::string& sql) {
    std::vector<std::string> out;
    PGresult* r = PQexec(c_, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(c_);
    for (int i = 0; i < PQntuples(r); ++i) out.push_back(PQgetisnull(r, i, 0) ? "<null>" : PQgetvalue(r, i, 0));
    PQclear(r);
    return out;
  }

 private:
  PGconn* c_;
};

}  // namespace ladder::store
