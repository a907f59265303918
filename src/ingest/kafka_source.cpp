#include "orderpulse/ingest/kafka_source.h"

#include <librdkafka/rdkafkacpp.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "orderpulse/ingest/record_reader.h"

namespace orderpulse {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kChunkRecords = 4096;
constexpr std::size_t kChunkBytes = 1 << 20;

void set(RdKafka::Conf& conf, const std::string& key, const std::string& value) {
  std::string err;
  if (conf.set(key, value, err) != RdKafka::Conf::CONF_OK) throw std::runtime_error("kafka property " + key + ": " + err);
}

}  // namespace

// librdkafka's callbacks; all of them run inside consume() or close(), on the poll thread.
class KafkaSource::Callbacks final : public RdKafka::RebalanceCb, public RdKafka::EventCb, public RdKafka::OffsetCommitCb {
 public:
  explicit Callbacks(KafkaSource& source) : source_(source) {}

  void rebalance_cb(RdKafka::KafkaConsumer*, RdKafka::ErrorCode err, std::vector<RdKafka::TopicPartition*>& parts) override {
    ++source_.probe_.rebalances;
    if (err == RdKafka::ERR__ASSIGN_PARTITIONS) {
      std::vector<std::int32_t> ids;
      for (const auto* p : parts) ids.push_back(p->partition());
      source_.on_assign(std::move(ids));
    } else {
      source_.on_revoke();
    }
  }

  void event_cb(RdKafka::Event& event) override {
    switch (event.type()) {
      case RdKafka::Event::EVENT_ERROR:
        if (event.err() == RdKafka::ERR__ALL_BROKERS_DOWN) {
          if (source_.probe_.broker_up.exchange(false)) spdlog::error("kafka: all brokers are down; retrying");
        } else {
          ++source_.probe_.fetch_errors;
          const auto now = Clock::now();
          if (event.str() != last_error_ || now - last_log_ > std::chrono::seconds(10)) {
            spdlog::warn("kafka: {}", event.str());
            last_error_ = event.str();
            last_log_ = now;
          }
        }
        break;
      case RdKafka::Event::EVENT_LOG:
        spdlog::debug("kafka: {} {}", event.fac(), event.str());
        break;
      default:
        break;
    }
  }

  void offset_commit_cb(RdKafka::ErrorCode err, std::vector<RdKafka::TopicPartition*>&) override {
    if (err == RdKafka::ERR_NO_ERROR || err == RdKafka::ERR__NO_OFFSET) {
      ++source_.probe_.commits;
    } else {
      ++source_.probe_.commit_failures;
      spdlog::warn("kafka: committing offsets failed: {}", RdKafka::err2str(err));
    }
  }

 private:
  KafkaSource& source_;
  std::string last_error_;
  Clock::time_point last_log_{};
};

KafkaSource::KafkaSource(KafkaOptions options, BatchBuilder& builder, KafkaProbe& probe)
    : options_(std::move(options)), builder_(builder), probe_(probe), callbacks_(std::make_unique<Callbacks>(*this)) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  // Offsets move only when a checkpoint holds them; partition ends are reported for lag and
  // --exit-at-eof.
  set(*conf, "enable.auto.commit", "false");
  set(*conf, "enable.auto.offset.store", "false");
  set(*conf, "auto.offset.reset", "earliest");
  set(*conf, "enable.partition.eof", "true");
  // librdkafka 2.0 compares its fetch-queue thresholds with the consumer queue every partition
  // forwards into, not with the partition's own: past the limit every partition stops fetching
  // and the fetcher looks again only 0.5-1 s later. With 64 partitions, 100k queued messages (the
  // default) cut the rate to a third (1 s stalls in the fetch debug log), and 64 MiB stalled one
  // run in two for 0.5 s. So the message count is left to the byte limit, which bounds the
  // queue at 128 MiB.
  set(*conf, "queued.min.messages", "10000000");
  set(*conf, "queued.max.messages.kbytes", "131072");
  set(*conf, "client.id", "orderpulse");
  for (const auto& [key, value] : options_.properties) set(*conf, key, value);
  if (!options_.brokers.empty()) set(*conf, "bootstrap.servers", options_.brokers);
  set(*conf, "group.id", options_.group);
  std::string err;
  if (conf->set("rebalance_cb", static_cast<RdKafka::RebalanceCb*>(callbacks_.get()), err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(callbacks_.get()), err) != RdKafka::Conf::CONF_OK ||
      conf->set("offset_commit_cb", static_cast<RdKafka::OffsetCommitCb*>(callbacks_.get()), err) != RdKafka::Conf::CONF_OK)
    throw std::runtime_error("kafka: " + err);
  consumer_.reset(RdKafka::KafkaConsumer::create(conf.get(), err));
  if (!consumer_) throw std::runtime_error("kafka consumer: " + err);
}

KafkaSource::~KafkaSource() { close(); }

bool KafkaSource::close() {
  stop();
  if (!consumer_) return true;
  commit_pending();  // the thread is gone: this thread may touch the consumer now
  std::unique_ptr<RdKafka::Queue> queue(RdKafka::Queue::create(consumer_.get()));
  if (std::unique_ptr<RdKafka::Error> error(consumer_->close(queue.get())); error)
    spdlog::warn("kafka: leaving the group: {}", error->str());
  const auto deadline = Clock::now() + options_.close_timeout;
  // The revocation (and any commit result) arrives on this queue; serving it runs the callbacks.
  while (!consumer_->closed() && Clock::now() < deadline) queue->poll(20);
  if (consumer_->closed()) {
    queue.reset();
    consumer_.reset();
    return true;
  }
  spdlog::warn("kafka: leaving the group did not finish within {} ms; stopping without it (the group "
               "reassigns our partitions after session.timeout.ms)", options_.close_timeout.count());
  // librdkafka's threads still run and may call the callbacks (its log callback runs on them).
  (void)queue.release();
  (void)consumer_.release();
  (void)callbacks_.release();
  return false;
}

std::string KafkaSource::source_name(std::uint32_t source_id) const {
  return "kafka:" + options_.topic + "/" + std::to_string(source_id - kFirstSourceId);
}

void KafkaSource::seek(const std::vector<SourcePosition>& positions) {
  for (const SourcePosition& p : positions)
    if (is_kafka_source(p.source_id))
      checkpointed_[static_cast<std::int32_t>(p.source_id - kFirstSourceId)] = static_cast<std::int64_t>(p.offset);
}

void KafkaSource::start() {
  const RdKafka::ErrorCode err = consumer_->subscribe({options_.topic});
  if (err != RdKafka::ERR_NO_ERROR) throw std::runtime_error("kafka: cannot subscribe to " + options_.topic + ": " + RdKafka::err2str(err));
  thread_ = std::thread([this] { run(); });
}

void KafkaSource::stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
}

void KafkaSource::commit(const std::vector<SourcePosition>& positions) {
  std::lock_guard lock(commit_mutex_);
  pending_commit_ = positions;
}

const RecordOrigin* KafkaSource::origin(std::int32_t partition) {
  auto& o = origins_[partition];
  if (!o)
    o = std::make_unique<RecordOrigin>(RecordOrigin{kFirstSourceId + static_cast<std::uint32_t>(partition), "kafka",
                                                    "topic", options_.topic, partition});
  return o.get();
}

void KafkaSource::on_assign(std::vector<std::int32_t> partitions) {
  std::vector<RdKafka::TopicPartition*> parts;
  std::string described;
  for (std::int32_t p : partitions) {
    // Our own progress first (a partition coming back to us), then the checkpoint's, then the
    // group's committed offset (else the earliest).
    std::int64_t offset = RdKafka::Topic::OFFSET_STORED;
    if (auto it = next_offset_.find(p); it != next_offset_.end()) offset = it->second;
    else if (auto c = checkpointed_.find(p); c != checkpointed_.end()) offset = c->second;
    parts.push_back(RdKafka::TopicPartition::create(options_.topic, p, offset));
    described += (described.empty() ? "" : ", ") + std::to_string(p) + "@" +
                 (offset == RdKafka::Topic::OFFSET_STORED ? std::string("committed") : std::to_string(offset));
  }
  const RdKafka::ErrorCode err = consumer_->assign(parts);
  for (auto* p : parts) delete p;
  if (err != RdKafka::ERR_NO_ERROR) spdlog::error("kafka: assign failed: {}", RdKafka::err2str(err));
  assigned_ = std::move(partitions);
  std::sort(assigned_.begin(), assigned_.end());
  at_end_.clear();
  first_message_logged_ = false;
  paused_ = false;
  probe_.paused = false;
  probe_.assigned = assigned_.size();
  probe_.set_partitions(assigned_);
  spdlog::info("kafka: assigned {} partition(s) of {}: {}", assigned_.size(), options_.topic, described);
}

void KafkaSource::on_revoke() {
  consumer_->unassign();
  // Staged records of partitions we no longer own are dropped: they were never handed on, and the
  // offsets we resume at (if the partitions come back) do not include them.
  staged_.clear();
  stage_text_.clear();
  spdlog::info("kafka: partitions revoked ({})", assigned_.size());
  assigned_.clear();
  at_end_.clear();
  probe_.assigned = 0;
  probe_.set_partitions({});
}

bool KafkaSource::deliver() {
  if (staged_.empty()) return true;
  std::size_t taken = 0;
  const bool room = builder_.append([&](EventBatch& b) {
    const std::size_t space = b.size() < builder_.max_records() ? builder_.max_records() - b.size() : 0;
    std::map<std::int32_t, std::int64_t> reached;
    for (; taken < staged_.size() && taken < space; ++taken) {
      const Staged& s = staged_[taken];
      b.add(std::string_view(stage_text_).substr(s.text_offset, s.length), static_cast<std::uint64_t>(s.offset),
            origin(s.partition), RecordFormat{}, s.too_long ? RecordFlag::too_long : RecordFlag::none);
      reached[s.partition] = s.offset + 1;
    }
    for (const auto& [p, next] : reached)
      b.note_position(SourcePosition{kFirstSourceId + static_cast<std::uint32_t>(p), static_cast<std::uint64_t>(next), 0, 0, 0});
  });
  for (std::size_t i = 0; i < taken; ++i) next_offset_[staged_[i].partition] = staged_[i].offset + 1;
  if (taken == staged_.size()) {
    staged_.clear();
    stage_text_.clear();
  } else {
    staged_.erase(staged_.begin(), staged_.begin() + static_cast<std::ptrdiff_t>(taken));
  }
  return room && staged_.empty();
}

void KafkaSource::set_paused(bool paused) {
  if (paused == paused_ || assigned_.empty()) return;
  std::vector<RdKafka::TopicPartition*> parts;
  for (std::int32_t p : assigned_) parts.push_back(RdKafka::TopicPartition::create(options_.topic, p));
  const RdKafka::ErrorCode err = paused ? consumer_->pause(parts) : consumer_->resume(parts);
  for (auto* p : parts) delete p;
  if (err != RdKafka::ERR_NO_ERROR) spdlog::warn("kafka: {} failed: {}", paused ? "pause" : "resume", RdKafka::err2str(err));
  paused_ = paused;
  probe_.paused = paused;
}

void KafkaSource::commit_pending() {
  std::optional<std::vector<SourcePosition>> positions;
  {
    std::lock_guard lock(commit_mutex_);
    positions.swap(pending_commit_);
  }
  if (!positions) return;
  std::vector<RdKafka::TopicPartition*> parts;
  for (const SourcePosition& sp : *positions) {
    if (!is_kafka_source(sp.source_id)) continue;
    const auto p = static_cast<std::int32_t>(sp.source_id - kFirstSourceId);
    if (std::binary_search(assigned_.begin(), assigned_.end(), p))
      parts.push_back(RdKafka::TopicPartition::create(options_.topic, p, static_cast<std::int64_t>(sp.offset)));
  }
  if (!parts.empty()) {
    const RdKafka::ErrorCode err = consumer_->commitAsync(parts);
    if (err != RdKafka::ERR_NO_ERROR) {
      ++probe_.commit_failures;
      spdlog::warn("kafka: commit failed: {}", RdKafka::err2str(err));
    }
  }
  for (auto* p : parts) delete p;
}

void KafkaSource::refresh_lag() {
  std::map<std::int32_t, KafkaProbe::Lag> lag;
  for (std::int32_t p : assigned_) {
    std::int64_t low = -1, high = -1;
    consumer_->get_watermark_offsets(options_.topic, p, &low, &high);
    auto it = next_offset_.find(p);
    // Nothing read yet: the lag is the whole partition, from its first retained offset.
    lag[p] = KafkaProbe::Lag{it == next_offset_.end() ? std::max<std::int64_t>(low, 0) : it->second, high};
  }
  probe_.set_lag(std::move(lag));
}

void KafkaSource::check_done() {
  if (!options_.stop_at_eof || done_ || assigned_.empty() || !staged_.empty()) return;
  for (std::int32_t p : assigned_)
    if (!at_end_[p]) return;
  done_.store(true, std::memory_order_release);
  spdlog::info("kafka: every assigned partition read to its end");
  if (options_.on_done) options_.on_done();
}

void KafkaSource::run() {
  auto last_lag = Clock::now();
  auto last_probe = Clock::now();
  while (!stopping_) {
    commit_pending();
    if (paused_ && builder_.wait_for_space(Clock::now() + std::chrono::milliseconds(25)) && deliver()) set_paused(false);
    // consume() also serves the group's callbacks, so it runs while paused too (it then returns
    // what was fetched before the pause, if anything, which is staged like the rest).
    const int timeout = paused_ ? 0 : (staged_.empty() ? 100 : 0);
    std::unique_ptr<RdKafka::Message> msg(consumer_->consume(timeout));
    bool idle = true;
    switch (msg->err()) {
      case RdKafka::ERR_NO_ERROR: {
        const std::int32_t p = msg->partition();
        const std::int64_t offset = msg->offset();
        auto next = next_offset_.find(p);
        if (!std::binary_search(assigned_.begin(), assigned_.end(), p) || (next != next_offset_.end() && offset < next->second))
          break;  // revoked meanwhile, or already handed on: never twice
        idle = false;
        at_end_[p] = false;
        if (!first_message_logged_) {
          first_message_logged_ = true;
          spdlog::info("kafka: first message {}/{}@{}", options_.topic, p, offset);
        }
        const std::size_t len = msg->len();
        const bool too_long = len > options_.max_record_bytes;
        // The ledger keeps an over-long message's first bytes, never more than it has.
        const std::size_t keep = too_long ? std::min(len, RecordReader::kLedgerPrefix) : len;
        staged_.push_back(Staged{p, offset, stage_text_.size(), keep, too_long});
        stage_text_.append(static_cast<const char*>(msg->payload()), keep);
        ++probe_.messages;
        probe_.bytes += len;
        break;
      }
      case RdKafka::ERR__PARTITION_EOF:
        at_end_[msg->partition()] = true;
        break;
      case RdKafka::ERR__TIMED_OUT:
        break;
      default:
        ++probe_.fetch_errors;
        spdlog::warn("kafka: consume: {}", msg->errstr());
        break;
    }
    if (!paused_ && (staged_.size() >= kChunkRecords || stage_text_.size() >= kChunkBytes || (idle && !staged_.empty()))) {
      // A full batch is normally taken by the engine at once. Pause only when it stays full:
      // pausing drops what librdkafka has prefetched, which then has to be fetched again.
      if (!deliver() && !(builder_.wait_for_space(Clock::now() + std::chrono::milliseconds(250)) && deliver()))
        set_paused(true);
    }
    // The clock is read when idle or every few thousand messages, not per message (it showed
    // in profiles); lag and broker checks need no finer grain.
    if (!idle && ++since_clock_ < kChunkRecords) continue;  // a message just came: nothing ended
    since_clock_ = 0;
    const auto now = Clock::now();
    if (now - last_lag >= std::chrono::seconds(1)) {
      refresh_lag();
      last_lag = now;
    }
    // Messages already fetched keep arriving after an outage begins, so they say nothing about the
    // brokers: while they are reported down (or not yet seen), a metadata request now and then
    // (a real round trip) tells when they are back.
    if (!probe_.broker_up && now - last_probe >= std::chrono::seconds(2)) {
      RdKafka::Metadata* md = nullptr;
      if (consumer_->metadata(false, nullptr, &md, 500) == RdKafka::ERR_NO_ERROR) {
        spdlog::info("kafka: brokers reachable");
        probe_.broker_up = true;
      }
      delete md;
      last_probe = now;
    }
    check_done();
  }
}

}  // namespace orderpulse
