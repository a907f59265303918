#pragma once
// Sending NDJSON records to a Kafka topic (`generate --to kafka://...`, `replay --to kafka://...`):
// one message per line (the JSON object, no newline), keyed by the record's product_id, through a
// librdkafka producer. Reconnecting, batching and retries are librdkafka's job; this class feeds
// it, waits while its queue is full, and counts delivery reports.

#include <librdkafka/rdkafkacpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "pacer.h"
#include "sender.h"

namespace orderpulse::sim {

// "kafka://HOST:PORT[,HOST:PORT...]/TOPIC". Throws UsageError.
KafkaEndpoint parse_kafka_endpoint(std::string_view text);

// The value of the top-level "product_id" string of a JSON object, as written (escapes kept);
// none when the line is not a whole object (e.g. cut short) or has no such string. Checks the
// structure (quotes, nesting, commas, colons), not the scalars: enough to key messages, and
// malformed records simply go without a key.
std::optional<std::string_view> find_product_id(std::string_view line);

// A librdkafka producer for one topic. Owns the producer handle, its topic handle and the
// delivery counters. Used by one thread: librdkafka's own threads do the network work, and its
// delivery reports run inside our poll()/flush() calls on that thread.
class KafkaSender final : public LineSender, private RdKafka::DeliveryReportCb, private RdKafka::EventCb {
 public:
  // `connect_timeout` bounds connect() and is each message's delivery timeout
  // (message.timeout.ms): a record the brokers have not acknowledged by then counts as failed.
  // `properties` override the defaults (any librdkafka producer property). Throws UsageError
  // for a property librdkafka rejects.
  KafkaSender(KafkaEndpoint to, DurationMs connect_timeout, const KafkaProperties& properties);
  ~KafkaSender() override;
  KafkaSender(const KafkaSender&) = delete;
  KafkaSender& operator=(const KafkaSender&) = delete;

  // Waits for the topic's metadata (the brokers answer and the topic exists, or was
  // auto-created), retrying until the connect timeout.
  bool connect() override;
  // Produces each non-blank line as one message. Waits (polling delivery reports) while
  // librdkafka's queue is full; a stop request while waiting ends the call at a line boundary
  // whatever `on_stop` says, since the brokers may be away for a long time.
  std::size_t send(std::string_view lines, OnStop on_stop = OnStop::finish_line) override;
  // Flushes: waits until every message is acknowledged or has failed (at most the delivery
  // timeout). After a stop request it waits at most kStopFlush, then purges what is left.
  void close() override;
  // {"sent":N,"bytes":B,"seconds":S,"rate":R,"failed":F}: sent/bytes count messages the brokers
  // acknowledged (value bytes, without newlines), failed those whose delivery failed.
  std::string summary(std::string_view extra = {}) const override;
  std::string losses() const override;

  static constexpr std::chrono::milliseconds kStopFlush{5000};

 private:
  void dr_cb(RdKafka::Message& message) override;
  void event_cb(RdKafka::Event& event) override;
  void log(const std::string& message) const;

  KafkaEndpoint to_;
  DurationMs connect_timeout_;
  std::unique_ptr<RdKafka::Producer> producer_;
  std::unique_ptr<RdKafka::Topic> topic_;
  std::uint64_t produced_ = 0;   // handed to librdkafka
  std::uint64_t delivered_ = 0;  // acknowledged by the brokers
  std::uint64_t bytes_ = 0;      // of the acknowledged messages
  std::uint64_t failed_ = 0;
  std::map<std::string, std::uint64_t> failures_;  // delivery error text -> count
  std::optional<Clock::time_point> start_;         // connected
  Clock::time_point end_{};                        // flushed
};

}  // namespace orderpulse::sim
