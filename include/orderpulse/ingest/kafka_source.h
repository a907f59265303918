#pragma once
// The live server's Kafka ingest: one topic consumed in a consumer group, every partition its own
// watermark source. Owns the librdkafka consumer and a thread that polls it (librdkafka adds its
// own threads); everything but the probe, commit() and done() is touched only by that thread once
// start() has run.
//
// Each message is one record. Records go into the BatchBuilder a chunk at a time; each chunk also
// notes, per partition, the offset to resume at, so a checkpoint taken at a batch boundary holds
// exact offsets. When the batch is full the assigned partitions are paused (librdkafka then stops
// fetching) until the engine takes it: no unbounded buffering. Offsets are committed to the group
// only when commit() is called, which the server does once a checkpoint holding them is durable:
// the checkpoint is the source of truth, the group's offsets are for lag tools.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "orderpulse/engine/batch_builder.h"
#include "orderpulse/engine/event_batch.h"

namespace RdKafka {
class KafkaConsumer;
}

namespace orderpulse {

// Counters of the consumer, written by its thread and read by /metrics and /readyz.
struct KafkaProbe {
  std::atomic<std::uint64_t> messages{0};
  std::atomic<std::uint64_t> bytes{0};
  std::atomic<std::uint64_t> fetch_errors{0};
  std::atomic<std::uint64_t> rebalances{0};
  std::atomic<std::uint64_t> commits{0};
  std::atomic<std::uint64_t> commit_failures{0};
  std::atomic<std::uint64_t> assigned{0};
  std::atomic<bool> broker_up{false};
  std::atomic<bool> paused{false};

  struct Lag {
    std::int64_t position = -1;  // next offset to read (the partition's start before any read)
    std::int64_t high = -1;      // the partition's end, as last seen in a fetch
  };
  // Per assigned partition.
  std::map<std::int32_t, Lag> lag() const {
    std::lock_guard lock(mutex);
    return lag_;
  }
  void set_lag(std::map<std::int32_t, Lag> lag) {
    std::lock_guard lock(mutex);
    lag_ = std::move(lag);
  }
  // The partitions assigned now. Set before any of their records is consumed, so the engine, which
  // reads it before each batch, knows every partition before it sees records of any.
  std::vector<std::int32_t> partitions() const {
    std::lock_guard lock(mutex);
    return partitions_;
  }
  void set_partitions(std::vector<std::int32_t> partitions) {
    std::lock_guard lock(mutex);
    partitions_ = std::move(partitions);
  }

 private:
  mutable std::mutex mutex;
  std::map<std::int32_t, Lag> lag_;
  std::vector<std::int32_t> partitions_;
};

struct KafkaOptions {
  std::string brokers;
  std::string topic;
  std::string group = "orderpulse";
  std::vector<std::pair<std::string, std::string>> properties;  // librdkafka, from the config
  std::size_t max_record_bytes = 1 << 20;
  // Read every assigned partition to its end, then stop: done() turns true (for --exit-at-eof).
  bool stop_at_eof = false;
  std::function<void()> on_done;  // on the source's thread, once
  // How long close() waits to leave the group before giving up on it.
  std::chrono::milliseconds close_timeout{2000};
};

class KafkaSource {
 public:
  // Partition p of the topic is watermark source kFirstSourceId + p.
  static constexpr std::uint32_t kFirstSourceId = 1u << 20;

  // Creates the consumer; throws std::runtime_error (one line) for a bad property.
  KafkaSource(KafkaOptions options, BatchBuilder& builder, KafkaProbe& probe);
  ~KafkaSource();  // close()s if that has not been done
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  static bool is_kafka_source(std::uint32_t source_id) { return source_id >= kFirstSourceId; }
  std::string source_name(std::uint32_t source_id) const;  // "kafka:TOPIC/PARTITION"

  // Before start(): offsets from a checkpoint; a partition assigned later resumes there.
  void seek(const std::vector<SourcePosition>& positions);
  void start();
  // Stops consuming and joins the thread; records already in the builder stay there. The
  // partitions stay assigned until close().
  void stop();
  // stop(), commit what commit() last gave, leave the group. librdkafka's own close waits for the
  // coordinator (up to session.timeout.ms, or a request timeout when it stalls mid-rebalance), so
  // this one waits at most close_timeout. Returns false when it gave up: the consumer is then
  // abandoned, not destroyed (that would block on the same close), and the caller should end the
  // process without running destructors; the group reassigns the partitions after the session
  // timeout. Idempotent.
  bool close();
  // Any thread: the offsets of a durable checkpoint, to commit to the group.
  void commit(const std::vector<SourcePosition>& positions);
  bool done() const { return done_.load(std::memory_order_acquire); }

 private:
  class Callbacks;
  struct Staged {
    std::int32_t partition;
    std::int64_t offset;
    std::size_t text_offset, length;
    bool too_long;
  };

  void run();
  void on_assign(std::vector<std::int32_t> partitions);
  void on_revoke();
  bool deliver();  // false when the batch is full (partitions are then paused)
  void set_paused(bool paused);
  void commit_pending();
  void refresh_lag();
  void check_done();
  const RecordOrigin* origin(std::int32_t partition);

  KafkaOptions options_;
  BatchBuilder& builder_;
  KafkaProbe& probe_;
  std::unique_ptr<Callbacks> callbacks_;
  std::unique_ptr<RdKafka::KafkaConsumer> consumer_;

  // Poll thread only.
  std::map<std::int32_t, std::int64_t> next_offset_;     // what has been handed to the builder
  std::map<std::int32_t, std::int64_t> checkpointed_;    // from seek()
  std::map<std::int32_t, std::unique_ptr<RecordOrigin>> origins_;  // never freed: batches point here
  std::vector<std::int32_t> assigned_;
  std::map<std::int32_t, bool> at_end_;
  std::vector<Staged> staged_;
  std::string stage_text_;
  bool paused_ = false;
  bool first_message_logged_ = false;  // once per assignment: when consumption really starts
  std::size_t since_clock_ = 0;         // messages since the clock was last read

  std::mutex commit_mutex_;
  std::optional<std::vector<SourcePosition>> pending_commit_;

  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> done_{false};
};

}  // namespace orderpulse
