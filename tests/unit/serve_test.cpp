#include <gtest/gtest.h>

#include <thread>

#include "orderpulse/config/config.h"
#include "orderpulse/engine/batch_builder.h"
#include "orderpulse/engine/bounded_queue.h"
#include "orderpulse/serve/http_server.h"

namespace orderpulse {
namespace {

TEST(Endpoint, ParseAndFormat) {
  EXPECT_EQ(to_string(parse_endpoint("127.0.0.1:9000", "x")), "127.0.0.1:9000");
  EXPECT_EQ(to_string(parse_endpoint("localhost:0", "x")), "127.0.0.1:0");
  EXPECT_EQ(to_string(parse_endpoint("[::1]:80", "x")), "[::1]:80");
  EXPECT_THROW(parse_endpoint("127.0.0.1", "x"), ConfigError);
  EXPECT_THROW(parse_endpoint("127.0.0.1:99999", "x"), ConfigError);
  EXPECT_THROW(parse_endpoint("example.com:80", "x"), ConfigError);
}

TEST(Channels, QueryParsing) {
  const unsigned metrics = static_cast<unsigned>(FeedChannel::metrics);
  const unsigned window = static_cast<unsigned>(FeedChannel::window);
  EXPECT_EQ(HttpServer::parse_channels("/ws"), kAllChannels);
  EXPECT_EQ(HttpServer::parse_channels("/ws?channels=metrics,window"), metrics | window);
  EXPECT_EQ(HttpServer::parse_channels("/ws?channels=window"), window);
  EXPECT_EQ(HttpServer::parse_channels("/ws?x=1&channels=metrics%2Cwindow&y=2"), metrics | window);
  EXPECT_EQ(HttpServer::parse_channels("/ws?channels=bogus"), kAllChannels);
}

TEST(BatchBuilder, TakesOnDeadlineOrWhenFull) {
  static RecordOrigin origin{0, "socket", "peer", "test"};
  BatchBuilder builder(3);
  int spaces = 0;
  builder.set_on_space([&] { ++spaces; });
  EXPECT_TRUE(builder.append([](EventBatch& b) { b.add("a", 1, &origin, {}); }));
  // Not full: take waits for the deadline and returns what is there.
  const auto t0 = BatchBuilder::Clock::now();
  auto batch = builder.take(t0 + std::chrono::milliseconds(30), std::make_unique<EventBatch>());
  EXPECT_GE(BatchBuilder::Clock::now() - t0, std::chrono::milliseconds(25));
  EXPECT_EQ(batch->size(), 1u);
  EXPECT_EQ(spaces, 1);
  // Full: append reports it and a waiting take returns at once.
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_FALSE(builder.append([](EventBatch& b) {
      for (int i = 0; i < 3; ++i) b.add("x", 1, &origin, {});
    }));
  });
  const auto t1 = BatchBuilder::Clock::now();
  batch = builder.take(t1 + std::chrono::seconds(10), std::move(batch));
  producer.join();
  EXPECT_LT(BatchBuilder::Clock::now() - t1, std::chrono::seconds(5));
  EXPECT_EQ(batch->size(), 3u);
  builder.close();
  EXPECT_TRUE(builder.closed());
  EXPECT_EQ(builder.take(BatchBuilder::Clock::now() + std::chrono::seconds(10), std::move(batch))->size(), 0u);
}

TEST(BoundedQueue, BlocksWhenFullAndDrainsAfterClose) {
  BoundedQueue<int> q(2);
  EXPECT_TRUE(q.push(1));
  EXPECT_TRUE(q.push(2));
  std::thread consumer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(q.pop(), 1);
  });
  EXPECT_TRUE(q.push(3));  // waits for the consumer
  consumer.join();
  q.close();
  EXPECT_FALSE(q.push(4));
  EXPECT_EQ(q.pop(), 2);
  EXPECT_EQ(q.pop(), 3);
  EXPECT_EQ(q.pop(), std::nullopt);
}

}  // namespace
}  // namespace orderpulse
