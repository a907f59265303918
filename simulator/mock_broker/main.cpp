// kafka-mock-broker: librdkafka's mock Kafka cluster (rdkafka_mock.h) behind a small command line,
// for tests and demos. Debian has no Kafka server package; the mock speaks the Kafka protocol on
// loopback well enough for producers, consumer groups and offset commits.
//
//   kafka-mock-broker --brokers 1 --topic orders --partitions 4
//
// stdout: the bootstrap address (HOST:PORT[,HOST:PORT...]) as the first line, then one reply per
// control command read from stdin: `down [N]`, `up [N]`, `rtt MS [N]`, `topic NAME PARTITIONS`
// -> `ok` or `error: ...`. Without N a command applies to every broker. stderr: the log. Runs
// until SIGINT/SIGTERM (exit 0); stdin reaching its end changes nothing (demos run it from a
// script with no terminal). Usage errors: one line on stderr, exit 2; the cluster failing to
// start: exit 1.

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "orderpulse/common/cli.h"

namespace {

using orderpulse::cli_fail;
using orderpulse::kExitRuntime;
using orderpulse::kExitUsage;

constexpr const char* kProgram = "kafka-mock-broker";
constexpr int kMaxBrokers = 16;
constexpr int kMaxPartitions = 1024;
constexpr int kMaxRttMs = 60'000;
constexpr std::size_t kMaxCommandBytes = 4096;  // a longer stdin line is answered with an error

struct Args {
  int brokers = 1;
  std::vector<std::string> topics;
  std::vector<int> partitions;
  std::string debug;  // librdkafka `debug` contexts for the mock's handle, e.g. "mock,protocol"
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// librdkafka log lines (from its internal threads) on stderr, one line each, with our prefix.
extern "C" void log_to_stderr(const rd_kafka_t*, int level, const char* facility, const char* message) {
  // The bookkeeping handle never connects anywhere, so its missing bootstrap.servers is no news.
  if (std::strcmp(facility, "CONFWARN") == 0 && std::strstr(message, "bootstrap.servers") != nullptr) return;
  std::fprintf(stderr, "%s: rdkafka %d %s: %s\n", kProgram, level, facility, message);
}

// The mock cluster. Owns the librdkafka handle the mock needs for its bookkeeping (a producer
// that never produces) and the cluster itself; librdkafka runs the brokers on its own threads.
// Every method is called from the main thread only.
class MockCluster {
 public:
  MockCluster(int brokers, const std::string& debug) : brokers_(brokers) {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_to_stderr);
    if (!debug.empty() && rd_kafka_conf_set(conf, "debug", debug.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      throw UsageError(std::string("--debug: ") + err);
    }
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    if (rk_ == nullptr) {
      rd_kafka_conf_destroy(conf);  // rd_kafka_new() only takes ownership when it succeeds
      throw std::runtime_error(std::string("cannot create the librdkafka handle: ") + err);
    }
    cluster_ = rd_kafka_mock_cluster_new(rk_, brokers);
    if (cluster_ == nullptr) {
      rd_kafka_destroy(rk_);
      throw std::runtime_error("cannot create the mock cluster (see the log above)");
    }
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  int brokers() const { return brokers_; }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

  // Empty on success, else the reason.
  std::string create_topic(const std::string& name, int partitions) {
    // Replicas do nothing in the mock but Metadata reports them; 3 is the usual production value.
    const int replication = std::min(brokers_, 3);
    if (std::string e = text(rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, replication)); !e.empty()) {
      return e;
    }
    // The 2.0.2 mock makes one broker lead every partition; spread them round-robin as a real
    // cluster does, so that `down N` takes away some partitions, not all or none.
    for (int p = 0; p < partitions && brokers_ > 1; ++p) {
      if (std::string e = text(rd_kafka_mock_partition_set_leader(cluster_, name.c_str(), p, p % brokers_ + 1));
          !e.empty()) {
        return "partition " + std::to_string(p) + " leader: " + e;
      }
    }
    return {};
  }

  // `broker` 0: every broker. The 2.0.2 mock documents -1 for "all" but looks ids up one by one,
  // so we loop ourselves.
  std::string set_up(int broker, bool up) {
    return each(broker, [&](int id) {
      return up ? rd_kafka_mock_broker_set_up(cluster_, id) : rd_kafka_mock_broker_set_down(cluster_, id);
    });
  }
  std::string set_rtt(int broker, int rtt_ms) {
    return each(broker, [&](int id) { return rd_kafka_mock_broker_set_rtt(cluster_, id, rtt_ms); });
  }

 private:
  static std::string text(rd_kafka_resp_err_t err) {
    return err == RD_KAFKA_RESP_ERR_NO_ERROR ? std::string() : rd_kafka_err2str(err);
  }
  template <typename F>
  std::string each(int broker, F&& f) {
    for (int id = broker == 0 ? 1 : broker; id <= (broker == 0 ? brokers_ : broker); ++id) {
      if (std::string e = text(f(id)); !e.empty()) return "broker " + std::to_string(id) + ": " + e;
    }
    return {};
  }

  int brokers_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

bool parse_int(std::string_view text, int min, int max, int& out) {
  int v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < min || v > max) return false;
  out = v;
  return true;
}

// A control command (one stdin line) -> the reply line, without its newline.
std::string run_command(MockCluster& cluster, std::string_view line) {
  std::vector<std::string> words;
  std::istringstream in{std::string(line)};
  for (std::string w; in >> w;) words.push_back(w);
  const std::string& cmd = words[0];
  const auto broker_arg = [&](std::size_t i, int& broker) {
    broker = 0;
    return words.size() <= i || parse_int(words[i], 1, cluster.brokers(), broker);
  };
  const std::string brokers_range = "a broker id 1.." + std::to_string(cluster.brokers());
  std::string err;
  if (cmd == "down" || cmd == "up") {
    int broker = 0;
    if (words.size() > 2 || !broker_arg(1, broker)) return "error: usage: " + cmd + " [BROKER] (" + brokers_range + ")";
    err = cluster.set_up(broker, cmd == "up");
    if (err.empty()) {
      std::fprintf(stderr, "%s: %s %s\n", kProgram, broker == 0 ? "all brokers" : ("broker " + words[1]).c_str(),
                   cmd == "up" ? "up" : "down");
    }
  } else if (cmd == "rtt") {
    int rtt = 0;
    int broker = 0;
    if (words.size() < 2 || words.size() > 3 || !parse_int(words[1], 0, kMaxRttMs, rtt) || !broker_arg(2, broker)) {
      return "error: usage: rtt MS [BROKER] (MS 0.." + std::to_string(kMaxRttMs) + ", " + brokers_range + ")";
    }
    err = cluster.set_rtt(broker, rtt);
  } else if (cmd == "topic") {
    int partitions = 0;
    if (words.size() != 3 || !parse_int(words[2], 1, kMaxPartitions, partitions)) {
      return "error: usage: topic NAME PARTITIONS (1.." + std::to_string(kMaxPartitions) + ")";
    }
    err = cluster.create_topic(words[1], partitions);
  } else {
    return "error: unknown command '" + cmd + "' (down [N], up [N], rtt MS [N], topic NAME PARTITIONS)";
  }
  return err.empty() ? "ok" : "error: " + err;
}

// Writes a reply line and flushes: the other end waits for it. A reader that went away is not
// our problem (SIGPIPE is ignored), the cluster keeps serving.
void reply(const std::string& line) {
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

Args parse_args(int argc, char** argv, std::optional<int>& exit_code) {
  Args a;
  CLI::App app{"kafka-mock-broker: librdkafka's mock Kafka cluster on loopback, for tests and demos", kProgram};
  app.add_option("--brokers", a.brokers, "Number of brokers (ids 1..N)")
      ->check(CLI::Range(1, kMaxBrokers))
      ->type_name("N")
      ->capture_default_str();
  app.add_option("--topic", a.topics, "Create this topic (repeatable)")->type_name("NAME")->allow_extra_args(false);
  app.add_option("--partitions", a.partitions,
                 "Partitions: once for every --topic, or once per --topic in the same order")
      ->check(CLI::Range(1, kMaxPartitions))
      ->type_name("P")
      ->allow_extra_args(false);
  app.add_option("--debug", a.debug, "librdkafka debug contexts for the mock, e.g. mock,protocol")->type_name("CTX");
  app.footer(
      "The first line on stdout is the bootstrap address. Then one command per stdin line, each\n"
      "answered `ok` or `error: ...` on stdout:\n"
      "  down [N]              disconnect broker N (default: all) and refuse new connections\n"
      "  up [N]                accept connections again\n"
      "  rtt MS [N]            delay every response by MS milliseconds\n"
      "  topic NAME P          create a topic with P partitions\n"
      "Runs until SIGINT/SIGTERM. Topics a client names before they exist are auto-created (4\n"
      "partitions). Mock limits: about 5 MiB kept per partition (older data is deleted), the first\n"
      "join of a consumer group takes about 3 s, no topic creation through the admin API.");
  exit_code = orderpulse::cli_parse(app, kProgram, argc, argv);
  if (exit_code) return a;
  if (a.partitions.size() > 1 && a.partitions.size() != a.topics.size()) {
    throw UsageError("--partitions must be given once, or once per --topic (" + std::to_string(a.topics.size()) +
                     " topics, " + std::to_string(a.partitions.size()) + " --partitions)");
  }
  if (!a.partitions.empty() && a.topics.empty()) throw UsageError("--partitions needs a --topic");
  if (!a.topics.empty() && a.partitions.empty()) throw UsageError("--topic needs --partitions");
  for (const std::string& t : a.topics) {
    const bool legal = !t.empty() && t.size() <= 249 && t != "." && t != ".." &&
                       std::all_of(t.begin(), t.end(), [](char c) {
                         return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                                c == '.' || c == '_' || c == '-';
                       });
    // Kafka's own rule for topic names.
    if (!legal) throw UsageError("--topic '" + t + "' is not a legal Kafka topic name ([a-zA-Z0-9._-], 1..249 chars)");
  }
  return a;
}

// Serves until SIGINT/SIGTERM: the signals arrive on a signalfd, commands on stdin.
int serve(MockCluster& cluster, int signal_fd) {
  std::string pending;  // stdin bytes not yet ending in a newline
  bool stdin_open = true;
  bool discarding = false;  // inside an over-long line
  for (;;) {
    pollfd fds[2] = {{signal_fd, POLLIN, 0}, {STDIN_FILENO, POLLIN, 0}};
    if (::poll(fds, stdin_open ? 2 : 1, -1) < 0) {
      if (errno == EINTR) continue;
      std::perror("kafka-mock-broker: poll");
      return kExitRuntime;
    }
    if ((fds[0].revents & POLLIN) != 0) {
      signalfd_siginfo si{};
      if (::read(signal_fd, &si, sizeof si) == static_cast<ssize_t>(sizeof si)) {
        std::fprintf(stderr, "%s: %s, stopping\n", kProgram, strsignal(static_cast<int>(si.ssi_signo)));
        return 0;
      }
    }
    if (!stdin_open || (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    char buf[4096];
    const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) {
      stdin_open = false;  // end of the control channel; keep serving
      continue;
    }
    pending.append(buf, static_cast<std::size_t>(n));
    std::size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      if (discarding) {
        discarding = false;
        reply("error: command longer than " + std::to_string(kMaxCommandBytes) + " bytes");
        continue;
      }
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.find_first_not_of(" \t") == std::string::npos) continue;
      reply(run_command(cluster, line));
    }
    if (pending.size() > kMaxCommandBytes) {
      pending.clear();
      discarding = true;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  try {
    std::optional<int> code;
    args = parse_args(argc, argv, code);
    if (code) return *code;
  } catch (const UsageError& e) {
    return cli_fail(kProgram, kExitUsage, std::string(e.what()) + " (see --help)");
  }

  // Blocked before librdkafka starts its threads, which inherit the mask: SIGINT/SIGTERM then
  // only ever reach the signalfd that the main loop polls. An ignored signal is discarded
  // rather than queued, and a script's background jobs start with SIGINT ignored: restore the
  // default first (it never runs while the signal is blocked).
  ::signal(SIGINT, SIG_DFL);
  ::signal(SIGTERM, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const int signal_fd = ::signalfd(-1, &stop_signals, SFD_CLOEXEC);
  if (signal_fd < 0) return cli_fail(kProgram, kExitRuntime, std::string("signalfd: ") + std::strerror(errno));
  ::signal(SIGPIPE, SIG_IGN);

  try {
    MockCluster cluster(args.brokers, args.debug);
    for (std::size_t i = 0; i < args.topics.size(); ++i) {
      const int partitions = args.partitions.size() == 1 ? args.partitions[0] : args.partitions[i];
      if (const std::string err = cluster.create_topic(args.topics[i], partitions); !err.empty()) {
        return cli_fail(kProgram, kExitRuntime, "cannot create topic " + args.topics[i] + ": " + err);
      }
      std::fprintf(stderr, "%s: topic %s with %d partitions\n", kProgram, args.topics[i].c_str(), partitions);
    }
    const std::string bootstraps = cluster.bootstraps();
    std::fprintf(stderr, "%s: %d broker%s at %s\n", kProgram, args.brokers, args.brokers == 1 ? "" : "s",
                 bootstraps.c_str());
    reply(bootstraps);
    return serve(cluster, signal_fd);
  } catch (const UsageError& e) {
    return cli_fail(kProgram, kExitUsage, std::string(e.what()) + " (see --help)");
  } catch (const std::exception& e) {
    return cli_fail(kProgram, kExitRuntime, e.what());
  }
}
