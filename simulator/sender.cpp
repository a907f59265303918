#include "sender.h"

#include "errors.h"
#include "kafka_sender.h"
#include "tcp_sender.h"

namespace orderpulse::sim {

Target parse_target(std::string_view text) {
  Target t;
  if (text.substr(0, 8) == "kafka://") {
    t.kafka = parse_kafka_endpoint(text);
  } else if (text.substr(0, 6) == "tcp://") {
    t.tcp = parse_endpoint(text);
  } else {
    throw UsageError("--to must be tcp://HOST:PORT or kafka://HOST:PORT[,HOST:PORT...]/TOPIC, got '" +
                     std::string(text) + "'");
  }
  return t;
}

std::unique_ptr<LineSender> make_sender(const Target& to, DurationMs connect_timeout, const KafkaProperties& kafka,
                                        std::string label) {
  if (to.kafka) return std::make_unique<KafkaSender>(*to.kafka, connect_timeout, kafka);
  return std::make_unique<TcpSender>(*to.tcp, connect_timeout, std::move(label));
}

}  // namespace orderpulse::sim
