#pragma once
// Where the network commands (`generate --to`, `replay`) send their NDJSON lines: the --to
// address (tcp://HOST:PORT or kafka://BROKERS/TOPIC) and the interface both senders share, so
// the pacing loops in live.cpp and replay.cpp do not care which one they feed.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "orderpulse/common/time.h"

namespace orderpulse::sim {

struct Endpoint {
  std::string host;  // name or address, IPv6 without its brackets
  std::string port;
  std::string text;  // as given: tcp://HOST:PORT
};

struct KafkaEndpoint {
  std::string brokers;  // HOST:PORT[,HOST:PORT...], librdkafka's bootstrap.servers
  std::string topic;
  std::string text;  // as given: kafka://BROKERS/TOPIC
};

// The parsed --to: exactly one of the two is set.
struct Target {
  std::optional<Endpoint> tcp;
  std::optional<KafkaEndpoint> kafka;
  std::string text() const { return tcp ? tcp->text : kafka->text; }
};

// "tcp://HOST:PORT" or "kafka://HOST:PORT[,HOST:PORT...]/TOPIC". Throws UsageError.
Target parse_target(std::string_view text);

// One destination of a network command. Implementations: TcpSender (one TCP connection to the
// server, re-established when it drops) and KafkaSender (a librdkafka producer).
class LineSender {
 public:
  enum class OnStop : std::uint8_t { finish_line, finish_all };

  virtual ~LineSender() = default;

  // Waits until the destination is reachable (server accepting / topic's metadata known),
  // retrying for up to the connect timeout. False when a stop was requested first; throws
  // RunFailure naming the address when the time is up.
  virtual bool connect() = 0;

  // Sends `lines`: whole lines, each ending in '\n' (only a file's very last line may lack it).
  // On a stop request it finishes the line under way (finish_line) or all of `lines`
  // (finish_all). Returns how many bytes of `lines` went out, always ending at a line boundary.
  virtual std::size_t send(std::string_view lines, OnStop on_stop = OnStop::finish_line) = 0;

  // Makes sure what was sent arrived as far as the protocol can tell, then closes.
  virtual void close() = 0;

  // The one-line JSON summary, `extra` (",\"key\":value...") inserted before its closing brace.
  virtual std::string summary(std::string_view extra = {}) const = 0;

  // After close(): empty when nothing is known to be lost, else why (Kafka: records whose
  // delivery failed). The command then exits 1 after printing its summary.
  virtual std::string losses() const { return {}; }
};

// What a network command reports: the summary line for stderr, and when records are known to
// be lost (LineSender::losses()), why; the command then exits 1 after printing the summary.
struct SendResult {
  std::string summary;
  std::string losses;
};

// librdkafka producer properties given on the command line (--kafka-property KEY=VALUE).
using KafkaProperties = std::vector<std::pair<std::string, std::string>>;

// A sender for `to`; `label` names the connection in log lines when there are several.
std::unique_ptr<LineSender> make_sender(const Target& to, DurationMs connect_timeout, const KafkaProperties& kafka,
                                        std::string label = {});

}  // namespace orderpulse::sim
