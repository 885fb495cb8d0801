// Consumer: rd_kafka_consumer_poll on a thread, offsets stored per handled
// message (enable.auto.offset.store=false) and committed per batch.
#include "libs/kafka/consumer.h"

#include "libs/process/thread_name.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/obs/metrics.h"
#include "spdlog/spdlog.h"

namespace sluice::kafka {
namespace {

constexpr int kPollTimeoutMs = 100;
// Handled messages between asynchronous commits; an idle poll commits too.
constexpr int kCommitEvery = 100;
// Batches polled per handler thread before a slow one's offsets are stored.
constexpr size_t kPipelinedPerHandler = 16;

// Copies `raw` into `message`, reusing the memory of its strings (a
// message of the previous batch).
void CopyMessage(const rd_kafka_message_t& raw, Message& message) {
  message.topic = rd_kafka_topic_name(raw.rkt);
  message.partition = raw.partition;
  message.offset = raw.offset;
  message.key.clear();
  if (raw.key != nullptr) {
    message.key.assign(static_cast<const char*>(raw.key), raw.key_len);
  }
  message.value.clear();
  if (raw.payload != nullptr) {
    message.value.assign(static_cast<const char*>(raw.payload), raw.len);
  }
  message.headers.clear();
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&raw, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
         RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      message.headers.emplace_back(
          name, value == nullptr ? std::string()
                                 : std::string(static_cast<const char*>(value), size));
    }
  }
}

}  // namespace

// On assignment, partitions whose offsets the handler keeps start there.
// Before partitions are given up, what was handled is stored and committed,
// so their next owner starts after it.
void Consumer::OnRebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions,
                           void* opaque) {
  auto* self = static_cast<Consumer*>(opaque);
  bool cooperative =
      absl::string_view(rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE";
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (self->stored_offset_) {
      for (int i = 0; i < partitions->cnt; ++i) {
        rd_kafka_topic_partition_t& partition = partitions->elems[i];
        std::optional<int64_t> offset =
            self->stored_offset_(partition.topic, partition.partition);
        if (offset.has_value()) partition.offset = *offset;
      }
    }
    if (cooperative) {
      rd_kafka_error_t* error = rd_kafka_incremental_assign(handle, partitions);
      if (error != nullptr) rd_kafka_error_destroy(error);
    } else {
      rd_kafka_assign(handle, partitions);
    }
    return;
  }
  self->Drain();
  rd_kafka_commit(handle, nullptr, /*async=*/0);
  self->uncommitted_ = 0;
  if (cooperative) {
    rd_kafka_error_t* error = rd_kafka_incremental_unassign(handle, partitions);
    if (error != nullptr) rd_kafka_error_destroy(error);
  } else {
    rd_kafka_assign(handle, nullptr);
  }
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(
    const ConsumerOptions& options) {
  if (options.topics.empty()) {
    return absl::InvalidArgumentError("kafka consumer: no topics");
  }
  KafkaSettings settings = {{"bootstrap.servers", options.brokers},
                            {"group.id", options.group_id},
                            {"auto.offset.reset", options.auto_offset_reset},
                            {"enable.auto.commit", "false"},
                            {"enable.auto.offset.store", "false"},
                            {"enable.partition.eof", "false"},
                            {"session.timeout.ms", "6000"},
                            {"heartbeat.interval.ms", "500"},
                            {"topic.metadata.refresh.interval.ms", "1000"},
                            {"allow.auto.create.topics", "true"}};
  settings.insert(settings.end(), options.extra.begin(), options.extra.end());
  absl::StatusOr<rd_kafka_conf_t*> conf = MakeConfig(settings);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<Consumer> consumer(
      new Consumer(options.group_id, options.topics, options.stored_offset));
  rd_kafka_conf_set_rebalance_cb(*conf, &Consumer::OnRebalance);
  rd_kafka_conf_set_opaque(*conf, consumer.get());
  char error[512];
  consumer->handle_ = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, error, sizeof(error));
  if (consumer->handle_ == nullptr) {
    rd_kafka_conf_destroy(*conf);
    consumer->closed_ = true;
    return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", error));
  }
  rd_kafka_poll_set_consumer(consumer->handle_);
  return consumer;
}

Consumer::~Consumer() {
  Stop();
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::Status Consumer::Start(Handler handler) {
  return StartBatches(
      [handler = std::move(handler)](const std::vector<Message>& batch) {
        return handler(batch.front());  // batches of one
      },
      1);
}

absl::Status Consumer::StartBatches(BatchHandler handler, size_t max_batch,
                                    size_t in_flight) {
  if (thread_.joinable() || closed_) {
    return absl::FailedPreconditionError("kafka consumer: already started");
  }
  handler_ = std::move(handler);
  max_batch_ = std::max<size_t>(max_batch, 1);
  in_flight_ = std::max<size_t>(in_flight, 1);
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics_.size()));
  for (const auto& topic : topics_) {
    rd_kafka_topic_partition_list_add(topics, topic.c_str(),
                                      RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(handle_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("kafka subscribe: ", rd_kafka_err2str(err)));
  }
  if (in_flight_ > 1) {
    for (size_t i = 0; i < in_flight_; ++i) {
      handlers_.emplace_back([this] {
        process::NameThisThread("sluice-handle");
        HandlerLoop();
      });
    }
  }
  thread_ = std::thread([this] {
    process::NameThisThread("sluice-consume");
    PollLoop();
  });
  // Apart from the poll loop, so the lag still shows while a handler is
  // stuck (a store that is down): that is when it matters.
  lag_thread_ = std::thread([this] {
    process::NameThisThread("sluice-lag");
    do {
      ReportLag();
    } while (!stopping_.WaitForNotificationWithTimeout(absl::Seconds(1)));
  });
  return absl::OkStatus();
}

void Consumer::ReportLag() {
  rd_kafka_topic_partition_list_t* assigned = nullptr;
  if (rd_kafka_assignment(handle_, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return;
  }
  rd_kafka_position(handle_, assigned);
  std::map<std::string, int64_t> lag;
  for (const std::string& topic : topics_) lag[topic] = 0;
  for (int i = 0; i < assigned->cnt; ++i) {
    const rd_kafka_topic_partition_t& partition = assigned->elems[i];
    int64_t low = 0, high = 0;
    if (rd_kafka_get_watermark_offsets(handle_, partition.topic,
                                       partition.partition, &low,
                                       &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0) {
      continue;
    }
    // Before the first fetch the position is unknown: all of it is behind.
    const int64_t position = partition.offset >= 0 ? partition.offset : low;
    lag[partition.topic] += std::max<int64_t>(0, high - position);
  }
  rd_kafka_topic_partition_list_destroy(assigned);
  for (const auto& [topic, behind] : lag) {
    obs::MetricsRegistry::Default()
        .gauge("sluice_kafka_consumer_lag",
               "Messages in this consumer's partitions not consumed yet.",
               {{"group", group_}, {"topic", topic}})
        .Set(static_cast<double>(behind));
  }
}

void Consumer::PollLoop() {
  std::vector<rd_kafka_message_t*> raws;
  while (!stop_.load()) {
    {
      // Room in the pipeline first: at most in_flight_ batches handled.
      absl::MutexLock lock(&mu_);
      auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return HasRoom() || pipeline_.front()->done || stop_.load();
      };
      mu_.AwaitWithTimeout(absl::Condition(&room), absl::Milliseconds(kPollTimeoutMs));
    }
    StoreDone();
    {
      absl::MutexLock lock(&mu_);
      if (!HasRoom()) continue;
    }
    // Wait for one message, then take what is already fetched.
    for (int timeout = kPollTimeoutMs; raws.size() < max_batch_; timeout = 0) {
      rd_kafka_message_t* raw = rd_kafka_consumer_poll(handle_, timeout);
      if (raw == nullptr) break;
      if (raw->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        spdlog::debug("kafka consumer: {}", rd_kafka_message_errstr(raw));
        rd_kafka_message_destroy(raw);
        continue;
      }
      raws.push_back(raw);
    }
    if (raws.empty()) {
      StoreDone();
      if (uncommitted_ > 0) {
        rd_kafka_commit(handle_, nullptr, /*async=*/1);
        uncommitted_ = 0;
      }
      continue;
    }
    auto batch = std::make_unique<Batch>();
    batch->messages.resize(raws.size());
    for (size_t i = 0; i < raws.size(); ++i) CopyMessage(*raws[i], batch->messages[i]);
    batch->raws = std::move(raws);
    raws.clear();
    Dispatch(std::move(batch));
  }
  // The handlers see stop_ and give their batches up (unless accepted).
  {
    absl::MutexLock lock(&mu_);
    handlers_quit_ = true;
  }
  for (std::thread& handler : handlers_) handler.join();
  StoreDone();
}

bool Consumer::HasRoom() const {
  return handling_ < in_flight_ && pipeline_.size() < kPipelinedPerHandler * in_flight_;
}

void Consumer::Dispatch(std::unique_ptr<Batch> batch) {
  Batch* raw = batch.get();
  {
    absl::MutexLock lock(&mu_);
    pipeline_.push_back(std::move(batch));
    ++handling_;
    if (!handlers_.empty()) {
      to_handle_.push_back(raw);
      return;
    }
  }
  bool accepted = Handle(raw->messages);
  absl::MutexLock lock(&mu_);
  raw->done = true;
  raw->accepted = accepted;
  --handling_;
}

void Consumer::HandlerLoop() {
  for (;;) {
    Batch* batch = nullptr;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !to_handle_.empty() || handlers_quit_;
      };
      mu_.Await(absl::Condition(&ready));
      if (to_handle_.empty()) return;
      batch = to_handle_.front();
      to_handle_.pop_front();
    }
    bool accepted = Handle(batch->messages);
    absl::MutexLock lock(&mu_);
    batch->done = true;
    batch->accepted = accepted;
    --handling_;
  }
}

void Consumer::StoreDone() {
  std::vector<std::unique_ptr<Batch>> done;
  {
    absl::MutexLock lock(&mu_);
    while (!pipeline_.empty() && pipeline_.front()->done) {
      done.push_back(std::move(pipeline_.front()));
      pipeline_.pop_front();
    }
  }
  for (const std::unique_ptr<Batch>& batch : done) {
    // A refused batch comes back after a restart; nothing polled after it
    // may be stored, or the commit would skip it.
    refused_ = refused_ || !batch->accepted;
    if (!refused_) {
      // One entry per partition: the offset after its last message.
      rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_t* last = nullptr;
      for (rd_kafka_message_t* raw : batch->raws) {
        const char* topic = rd_kafka_topic_name(raw->rkt);
        if (last == nullptr || last->partition != raw->partition ||
            std::strcmp(last->topic, topic) != 0) {
          last = rd_kafka_topic_partition_list_find(offsets, topic, raw->partition);
          if (last == nullptr) {
            last = rd_kafka_topic_partition_list_add(offsets, topic, raw->partition);
          }
        }
        last->offset = std::max(last->offset, raw->offset + 1);
      }
      // Fails only if a partition was revoked meanwhile; its new owner
      // then re-reads the messages (at least once).
      rd_kafka_offsets_store(handle_, offsets);
      rd_kafka_topic_partition_list_destroy(offsets);
      uncommitted_ += static_cast<int>(batch->raws.size());
    }
    for (rd_kafka_message_t* raw : batch->raws) rd_kafka_message_destroy(raw);
  }
  if (uncommitted_ >= kCommitEvery) {
    rd_kafka_commit(handle_, nullptr, /*async=*/1);
    uncommitted_ = 0;
  }
}

void Consumer::Drain() {
  {
    absl::MutexLock lock(&mu_);
    auto all_done = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return handling_ == 0;
    };
    mu_.Await(absl::Condition(&all_done));
  }
  StoreDone();
}

bool Consumer::Handle(const std::vector<Message>& batch) {
  absl::Duration backoff = absl::Milliseconds(50);
  while (!stop_.load()) {
    absl::Status handled = handler_(batch);
    if (handled.ok()) return true;
    spdlog::warn("kafka consumer: handler failed at {}/{}@{} (batch of {}): "
                 "{}; retrying",
                 batch.front().topic, batch.front().partition,
                 batch.front().offset, batch.size(), handled.ToString());
    if (stopping_.WaitForNotificationWithTimeout(backoff)) break;
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
  return false;
}

void Consumer::Stop() {
  if (closed_) return;
  closed_ = true;
  stop_ = true;
  stopping_.Notify();
  if (thread_.joinable()) thread_.join();
  if (lag_thread_.joinable()) lag_thread_.join();
  // Leaving the group revokes the assignment, and OnRebalance commits
  // synchronously what was handled.
  rd_kafka_consumer_close(handle_);
}

}  // namespace sluice::kafka
