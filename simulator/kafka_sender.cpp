#include "kafka_sender.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "errors.h"

namespace orderpulse::sim {
namespace {

using std::chrono::milliseconds;

constexpr int kPollMs = 100;               // while librdkafka's queue is full; stop requests noticed
constexpr milliseconds kMinAttempt{1000};  // one metadata attempt may take this long
constexpr milliseconds kMetadataSlice{500};
constexpr milliseconds kFlushMargin{5000};  // past the delivery timeout, for the last reports
constexpr std::uint64_t kPollEvery = 1024;  // messages between delivery-report polls

// Kafka's rule for topic names.
bool legal_topic(std::string_view t) {
  return !t.empty() && t.size() <= 249 && t != "." && t != ".." &&
         std::all_of(t.begin(), t.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '_' || c == '-';
         });
}

// HOST:PORT with a name, an IPv4 address or a bracketed IPv6 address; librdkafka takes all three.
bool legal_broker(std::string_view b) {
  const std::size_t colon = b.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view host = b.substr(0, colon);
  const std::string_view port = b.substr(colon + 1);
  if (host.front() == '[' ? host.size() < 3 || host.back() != ']' : host.find(':') != std::string_view::npos) {
    return false;
  }
  unsigned value = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return !port.empty() && ec == std::errc() && ptr == port.data() + port.size() && value > 0 && value <= 65535;
}

milliseconds until(Clock::time_point t) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(t - Clock::now()));
}

// Just enough of a JSON reader to find a top-level key: strings (escapes skipped, not decoded)
// and values skipped whole, nesting included.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}

  void skip_space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\r' || s_[i_] == '\n')) ++i_;
  }
  bool at(char c) const { return i_ < s_.size() && s_[i_] == c; }
  bool done() const { return i_ >= s_.size(); }
  bool take(char c) {
    if (!at(c)) return false;
    ++i_;
    return true;
  }
  // At a '"': moves past the closing quote and returns the contents as written.
  std::optional<std::string_view> string() {
    const std::size_t begin = ++i_;
    while (i_ < s_.size()) {
      if (s_[i_] == '\\') {
        i_ += 2;
      } else if (s_[i_] == '"') {
        return s_.substr(begin, i_++ - begin);
      } else {
        ++i_;
      }
    }
    return std::nullopt;
  }
  // Skips one value of any kind; false when the text ends first.
  bool skip_value() {
    if (at('"')) return string().has_value();
    if (at('{') || at('[')) {
      int depth = 0;
      while (i_ < s_.size()) {
        const char c = s_[i_];
        if (c == '"') {
          if (!string()) return false;
          continue;
        }
        ++i_;
        if (c == '{' || c == '[') ++depth;
        else if ((c == '}' || c == ']') && --depth == 0) return true;
      }
      return false;
    }
    const std::size_t begin = i_;  // number, true, false, null
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']' && s_[i_] != ' ' && s_[i_] != '\t') ++i_;
    return i_ > begin;
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

KafkaEndpoint parse_kafka_endpoint(std::string_view text) {
  const auto fail = [&](const std::string& why) -> KafkaEndpoint {
    throw UsageError("--to must be kafka://HOST:PORT[,HOST:PORT...]/TOPIC (" + why + "), got '" + std::string(text) + "'");
  };
  constexpr std::string_view kScheme = "kafka://";
  if (text.substr(0, kScheme.size()) != kScheme) return fail("no kafka:// scheme");
  const std::string_view rest = text.substr(kScheme.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return fail("no /TOPIC");
  const std::string_view brokers = rest.substr(0, slash);
  const std::string_view topic = rest.substr(slash + 1);
  std::size_t pos = 0;
  do {
    const std::size_t comma = std::min(brokers.find(',', pos), brokers.size());
    if (!legal_broker(brokers.substr(pos, comma - pos))) return fail("a broker must be HOST:PORT");
    pos = comma + 1;
  } while (pos <= brokers.size());
  if (!legal_topic(topic)) return fail("a topic name is 1..249 of [a-zA-Z0-9._-]");
  return KafkaEndpoint{std::string(brokers), std::string(topic), std::string(text)};
}

std::optional<std::string_view> find_product_id(std::string_view line) {
  Scanner s(line);
  s.skip_space();
  if (!s.take('{')) return std::nullopt;
  std::optional<std::string_view> found;
  s.skip_space();
  if (s.take('}')) return std::nullopt;
  for (;;) {
    s.skip_space();
    if (!s.at('"')) return std::nullopt;
    const std::optional<std::string_view> key = s.string();
    s.skip_space();
    if (!key || !s.take(':')) return std::nullopt;
    s.skip_space();
    // The last product_id wins, as in most JSON readers.
    if (*key == "product_id" && s.at('"')) {
      found = s.string();
      if (!found) return std::nullopt;
    } else if (!s.skip_value()) {
      return std::nullopt;
    } else if (*key == "product_id") {
      found.reset();  // not a string
    }
    s.skip_space();
    if (s.take('}')) break;
    if (!s.take(',')) return std::nullopt;
  }
  // Only a whole object is a record: a line cut short (or with more after the object) is not.
  s.skip_space();
  return s.done() ? found : std::nullopt;
}

KafkaSender::KafkaSender(KafkaEndpoint to, DurationMs connect_timeout, const KafkaProperties& properties)
    : to_(std::move(to)), connect_timeout_(connect_timeout) {
  const std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  const auto set = [&](const std::string& key, const std::string& value, bool from_user) {
    if (conf->set(key, value, err) != RdKafka::Conf::CONF_OK) {
      if (from_user) throw UsageError("--kafka-property " + key + "=" + value + ": " + err);
      throw RunFailure("librdkafka rejected " + key + "=" + value + ": " + err);
    }
  };
  // librdkafka treats message.timeout.ms 0 as "forever": --connect-timeout 0 means one short try.
  const DurationMs delivery_timeout = std::max<DurationMs>(connect_timeout_, kMinAttempt.count());
  set("bootstrap.servers", to_.brokers, false);
  set("client.id", "orderpulse-sim", false);
  // A record the brokers have not acknowledged within --connect-timeout fails and is reported;
  // until then librdkafka reconnects and retries on its own.
  set("message.timeout.ms", std::to_string(delivery_timeout), false);
  // Retries after a broker outage neither duplicate nor reorder records within a partition.
  set("enable.idempotence", "true", false);
  // Back on a returning broker within 2 s, like the tcp:// sender (librdkafka's default waits
  // up to 10 s between attempts).
  set("reconnect.backoff.ms", "100", false);
  set("reconnect.backoff.max.ms", "2000", false);
  // Batching: a live stream at 100 records/s goes out within 10 ms; at full speed the batches
  // fill up (10000 records or 1 MiB) long before that. lz4 costs little CPU and makes the
  // mock broker's ~5 MiB per partition hold about 4.5 times as many records.
  set("linger.ms", "10", false);
  set("batch.num.messages", "10000", false);
  set("batch.size", "1048576", false);
  set("compression.type", "lz4", false);
  set("queue.buffering.max.messages", "200000", false);
  // Java's partitioner: a product lands on the same partition whichever client produced it
  // (tests/integration/kafkalib.py uses the same); records without product_id go anywhere.
  set("partitioner", "murmur2_random", false);
  for (const auto& [key, value] : properties) set(key, value, true);
  if (conf->set("dr_cb", static_cast<RdKafka::DeliveryReportCb*>(this), err) != RdKafka::Conf::CONF_OK ||
      conf->set("event_cb", static_cast<RdKafka::EventCb*>(this), err) != RdKafka::Conf::CONF_OK) {
    throw RunFailure("librdkafka: " + err);
  }
  producer_.reset(RdKafka::Producer::create(conf.get(), err));
  if (!producer_) throw RunFailure("cannot create a Kafka producer for " + to_.text + ": " + err);
  topic_.reset(RdKafka::Topic::create(producer_.get(), to_.topic, nullptr, err));
  if (!topic_) throw RunFailure("cannot create a Kafka topic handle for " + to_.text + ": " + err);
}

KafkaSender::~KafkaSender() {
  // The topic handle goes before the producer, and the producer before the counters its
  // callbacks write to. A destructor never waits for delivery (close() does): purge, so that
  // destruction after an exception is quick.
  topic_.reset();
  if (producer_) producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
  producer_.reset();
}

void KafkaSender::log(const std::string& message) const {
  std::fprintf(stderr, "orderpulse-sim: %s: %s\n", to_.text.c_str(), message.c_str());
}

bool KafkaSender::connect() {
  const auto deadline = std::max(Clock::now() + milliseconds(connect_timeout_), Clock::now() + kMinAttempt);
  std::string why = "no answer from the brokers";
  for (;;) {
    if (stop_requested()) return false;
    RdKafka::Metadata* raw = nullptr;
    const auto slice = std::clamp(until(deadline), milliseconds(1), kMetadataSlice);
    const RdKafka::ErrorCode err = producer_->metadata(false, topic_.get(), &raw, static_cast<int>(slice.count()));
    const std::unique_ptr<RdKafka::Metadata> md(raw);
    if (err == RdKafka::ERR_NO_ERROR) {
      for (const RdKafka::TopicMetadata* t : *md->topics()) {
        if (t->topic() != to_.topic) continue;
        if (t->err() == RdKafka::ERR_NO_ERROR && !t->partitions()->empty()) {
          start_ = Clock::now();
          return true;
        }
        // UNKNOWN_TOPIC_OR_PART: no such topic (and no auto-creation); LEADER_NOT_AVAILABLE:
        // being created. Either may change while we wait.
        why = "topic " + to_.topic + ": " + RdKafka::err2str(t->err());
      }
    } else if (err != RdKafka::ERR__TIMED_OUT) {
      why = RdKafka::err2str(err);
    }
    if (Clock::now() >= deadline) {
      char within[32];
      std::snprintf(within, sizeof within, "%gs", static_cast<double>(connect_timeout_) / 1000.0);
      throw RunFailure("cannot reach " + to_.text + " within " + within + ": " + why);
    }
    // Metadata failing fast (e.g. connection refused) must not spin.
    if (err != RdKafka::ERR__TIMED_OUT) sleep_until_or_stop(std::min(Clock::now() + kMetadataSlice, deadline));
  }
}

std::size_t KafkaSender::send(std::string_view lines, OnStop on_stop) {
  std::size_t pos = 0;
  while (pos < lines.size()) {
    if (on_stop == OnStop::finish_line && stop_requested()) break;
    const std::size_t nl = lines.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? lines.size() : nl;
    const std::string_view value = lines.substr(pos, end - pos);
    // A blank line (nothing but spaces, tabs, a CR) is no record, as for the server's readers.
    if (value.find_first_not_of(" \t\r") != std::string_view::npos) {
      const std::optional<std::string_view> key = find_product_id(value);
      for (;;) {
        const RdKafka::ErrorCode err = producer_->produce(
            topic_.get(), RdKafka::Topic::PARTITION_UA, RdKafka::Producer::RK_MSG_COPY,
            const_cast<char*>(value.data()), value.size(),  // copied, never written
            key ? key->data() : nullptr, key ? key->size() : 0, nullptr);
        if (err == RdKafka::ERR_NO_ERROR) break;
        if (err != RdKafka::ERR__QUEUE_FULL) {
          throw RunFailure("cannot produce to " + to_.text + ": " + RdKafka::err2str(err));
        }
        // Full: the brokers are slow or away. Delivery reports (or timeouts) make room.
        producer_->poll(kPollMs);
        if (stop_requested()) {
          producer_->poll(0);
          return pos;
        }
      }
      if (++produced_ % kPollEvery == 0) producer_->poll(0);
    }
    pos = nl == std::string_view::npos ? lines.size() : nl + 1;
  }
  producer_->poll(0);
  return pos;
}

void KafkaSender::close() {
  if (producer_ && start_) {
    const auto timeout = milliseconds(std::max<DurationMs>(connect_timeout_, kMinAttempt.count()));
    auto deadline = Clock::now() + timeout + kFlushMargin;
    bool stop_seen = false;
    while (producer_->outq_len() > 0) {
      if (!stop_seen && stop_requested()) {
        stop_seen = true;
        deadline = std::min(deadline, Clock::now() + kStopFlush);
      }
      if (Clock::now() >= deadline) {
        log("stopped waiting for " + std::to_string(producer_->outq_len()) + " unacknowledged records");
        producer_->purge(RdKafka::Producer::PURGE_QUEUE | RdKafka::Producer::PURGE_INFLIGHT);
        producer_->flush(1000);  // serves the purged messages' delivery reports
        break;
      }
      producer_->flush(kPollMs);
    }
    producer_->poll(0);
  }
  end_ = Clock::now();
}

void KafkaSender::dr_cb(RdKafka::Message& message) {
  if (message.err() == RdKafka::ERR_NO_ERROR) {
    ++delivered_;
    bytes_ += message.len();
    return;
  }
  ++failed_;
  // The first failure of each kind is logged at once, the rest counted for losses().
  if (++failures_[message.errstr()] == 1) {
    log("delivery failed: " + message.errstr() + " (further failures of this kind are only counted)");
  }
}

void KafkaSender::event_cb(RdKafka::Event& event) {
  switch (event.type()) {
    case RdKafka::Event::EVENT_ERROR:
      // Broker outages show up here (transport errors, all brokers down); librdkafka keeps
      // reconnecting, so they are news, not failures. Failures come as delivery reports.
      log(std::string(event.fatal() ? "fatal error: " : "") + RdKafka::err2str(event.err()) +
          (event.str().empty() ? "" : ": " + event.str()));
      break;
    case RdKafka::Event::EVENT_LOG:
      // FAIL lines repeat the error events above.
      if (event.severity() <= RdKafka::Event::EVENT_SEVERITY_WARNING && event.fac() != "FAIL") {
        log("rdkafka " + event.fac() + ": " + event.str());
      }
      break;
    default:
      break;
  }
}

std::string KafkaSender::summary(std::string_view extra) const {
  const double secs = start_ ? std::chrono::duration<double>(end_ - *start_).count() : 0.0;
  const double rate = secs > 0 ? static_cast<double>(delivered_) / secs : 0.0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "{\"sent\":%llu,\"bytes\":%llu,\"seconds\":%.3f,\"rate\":%.1f,\"failed\":%llu",
                static_cast<unsigned long long>(delivered_), static_cast<unsigned long long>(bytes_), secs, rate,
                static_cast<unsigned long long>(failed_));
  return std::string(buf).append(extra).append("}");
}

std::string KafkaSender::losses() const {
  if (delivered_ == produced_) return {};
  std::string why;
  for (const auto& [error, count] : failures_) {
    why.append(why.empty() ? ": " : ", ").append(error).append(" (").append(std::to_string(count)).append(")");
  }
  if (failed_ + delivered_ < produced_) {
    why.append(why.empty() ? ": " : ", ")
        .append("no delivery report (")
        .append(std::to_string(produced_ - failed_ - delivered_))
        .append(")");
  }
  return std::to_string(produced_ - delivered_) + " of " + std::to_string(produced_) + " records were not delivered to " +
         to_.text + why;
}

}  // namespace orderpulse::sim
