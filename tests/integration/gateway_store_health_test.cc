// The gateway's health follows its store: a gateway on PostgreSQL that loses its database reports
// NOT_SERVING (for "", every public service and "interop.store"), so that a load balancer takes it
// out of the pool, and SERVING again once the database answers. The database is reached through a
// TCP relay in this process (to the suite's PostgreSQL test server, fixture "postgres"), which the
// test cuts and restores: a real gateway process, real PostgreSQL, a real lost connection.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "tests/gateway/store/postgres/pg_test_support.h"
#include "tests/integration/city_cluster.h"

namespace interop::testing {
namespace {

// Relays TCP connections on 127.0.0.1:port() to a Unix socket. Cut() closes every relayed
// connection and closes new ones at once (the database is gone, as far as the client can tell);
// Restore() relays new connections again.
class UnixRelay {
 public:
  explicit UnixRelay(std::string socket_path) : socket_path_(std::move(socket_path)) {
    const int listener = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        listen(listener, 64) != 0) {
      ADD_FAILURE() << "relay: cannot listen: " << std::strerror(errno);
      close(listener);
      return;
    }
    socklen_t length = sizeof(address);
    getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this, listener] { Accept(listener); });
  }
  ~UnixRelay() {
    Cut();
    stopping_ = true;
    if (acceptor_.joinable()) acceptor_.join();
  }

  int port() const { return port_; }

  void Cut() {
    refusing_ = true;
    std::vector<std::thread> pumps;
    {
      absl::MutexLock lock(&mu_);
      for (int fd : open_) shutdown(fd, SHUT_RDWR);
      pumps.swap(pumps_);
    }
    for (std::thread& pump : pumps) pump.join();
    absl::MutexLock lock(&mu_);
    for (int fd : open_) close(fd);
    open_.clear();
  }

  void Restore() { refusing_ = false; }

 private:
  void Accept(int listener) {
    while (!stopping_) {
      pollfd ready{listener, POLLIN, 0};
      if (poll(&ready, 1, 50) <= 0) continue;
      const int client = accept(listener, nullptr, nullptr);
      if (client < 0) continue;
      if (refusing_) {
        close(client);
        continue;
      }
      const int server = socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un address{};
      address.sun_family = AF_UNIX;
      std::strncpy(address.sun_path, socket_path_.c_str(), sizeof(address.sun_path) - 1);
      if (connect(server, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        close(client);
        close(server);
        continue;
      }
      absl::MutexLock lock(&mu_);
      open_.push_back(client);
      open_.push_back(server);
      pumps_.emplace_back([client, server] { Pump(client, server); });
      pumps_.emplace_back([client, server] { Pump(server, client); });
    }
    close(listener);
  }

  // Copies from `from` to `to` until either side ends.
  static void Pump(int from, int to) {
    char buffer[16384];
    while (true) {
      const ssize_t n = read(from, buffer, sizeof(buffer));
      if (n <= 0) break;
      ssize_t sent = 0;
      while (sent < n) {
        const ssize_t m = write(to, buffer + sent, static_cast<size_t>(n - sent));
        if (m <= 0) break;
        sent += m;
      }
      if (sent < n) break;
    }
    shutdown(from, SHUT_RDWR);
    shutdown(to, SHUT_RDWR);
  }

  const std::string socket_path_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> refusing_{false};
  std::thread acceptor_;
  absl::Mutex mu_;
  std::vector<int> open_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> pumps_ ABSL_GUARDED_BY(mu_);
};

// "host=DIR port=P ..." of the test server, as "host=127.0.0.1 port=RELAY ..." and DIR/.s.PGSQL.P.
struct RelayedConninfo {
  std::string socket_path;
  std::string conninfo;
};
RelayedConninfo ThroughRelay(const std::string& conninfo, int relay_port) {
  std::smatch host, port;
  EXPECT_TRUE(std::regex_search(conninfo, host, std::regex("host=(\\S+)")));
  EXPECT_TRUE(std::regex_search(conninfo, port, std::regex("port=(\\d+)")));
  RelayedConninfo relayed;
  relayed.socket_path = absl::StrCat(host[1].str(), "/.s.PGSQL.", port[1].str());
  std::string rewritten = std::regex_replace(conninfo, std::regex("host=\\S+"), "host=127.0.0.1");
  relayed.conninfo =
      std::regex_replace(rewritten, std::regex("port=\\d+"), absl::StrCat("port=", relay_port));
  return relayed;
}

// Whether `service` is SERVING (a failed check fails the test).
bool Serving(const std::shared_ptr<grpc::Channel>& channel, const std::string& service) {
  absl::StatusOr<bool> serving = CheckHealth(channel, service);
  EXPECT_TRUE(serving.ok()) << service << ": " << serving.status();
  return serving.ok() && *serving;
}

// Polls until `service` reports `serving` or `timeout` passes; whether it did.
bool AwaitServing(const std::shared_ptr<grpc::Channel>& channel, const std::string& service, bool serving,
                  absl::Duration timeout) {
  const absl::Time give_up = absl::Now() + timeout;
  while (absl::Now() < give_up) {
    if (Serving(channel, service) == serving) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

// GET /readyz on the gateway's metrics port: its HTTP status, -1 if there was no answer.
int ReadyzStatus(int metrics_port, std::string* body = nullptr) {
  httplib::Client client("127.0.0.1", metrics_port);
  httplib::Result result = client.Get("/readyz");
  if (!result) return -1;
  if (body != nullptr) *body = result->body;
  return result->status;
}

TEST(GatewayStoreHealthTest, ALostDatabaseMakesTheGatewayNotServingUntilItAnswersAgain) {
  store::pg::TestSchema schema;
  // The relay needs the socket path before the gateway is configured with the relay's port.
  UnixRelay relay(ThroughRelay(schema.conninfo(), 0).socket_path);
  ClusterOptions options;
  options.postgres_conninfo = ThroughRelay(schema.conninfo(), relay.port()).conninfo;
  absl::StatusOr<std::unique_ptr<CityCluster>> cluster = CityCluster::Start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  std::shared_ptr<grpc::Channel> channel = (*cluster)->CallerChannel("caller-hospital-taiyuan");
  EXPECT_TRUE(Serving(channel, ""));
  EXPECT_TRUE(Serving(channel, "interop.store"));
  const int metrics_port = (*cluster)->gateway_metrics_port();
  ASSERT_GT(metrics_port, 0);
  EXPECT_EQ(ReadyzStatus(metrics_port), 200);

  relay.Cut();
  EXPECT_TRUE(AwaitServing(channel, "", false, absl::Seconds(10)));
  EXPECT_FALSE(Serving(channel, "interop.store"));
  // The same answer over plain HTTP, for load balancers that check that way; /healthz (liveness)
  // stays 200: restarting the gateway would not bring its database back.
  std::string not_ready;
  EXPECT_EQ(ReadyzStatus(metrics_port, &not_ready), 503);
  EXPECT_THAT(not_ready, ::testing::HasSubstr("the store does not answer"));
  httplib::Client metrics("127.0.0.1", metrics_port);
  httplib::Result alive = metrics.Get("/healthz");
  ASSERT_TRUE(alive);
  EXPECT_EQ(alive->status, 200);
  EXPECT_FALSE(Serving(channel, "interop.medical.v1.MedicalInsuranceService"));
  EXPECT_TRUE(AwaitServing(channel, "interop.city.taiyuan", true, absl::Seconds(5)))
      << "the cities are not the store";

  relay.Restore();
  EXPECT_TRUE(AwaitServing(channel, "", true, absl::Seconds(15)));
  EXPECT_TRUE(Serving(channel, "interop.store"));
  EXPECT_TRUE(Serving(channel, "interop.medical.v1.MedicalInsuranceService"));
  EXPECT_EQ(ReadyzStatus(metrics_port), 200);
  cluster->reset();  // before the schema it uses
}

}  // namespace
}  // namespace interop::testing
