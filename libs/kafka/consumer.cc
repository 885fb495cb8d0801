// Consumer: rd_kafka_consumer_poll on a thread, offsets stored per handled
// message (enable.auto.offset.store=false) and committed per batch.
#include "libs/kafka/consumer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace sluice::kafka {
namespace {

constexpr int kPollTimeoutMs = 100;
// Handled messages between asynchronous commits; an idle poll commits too.
constexpr int kCommitEvery = 100;

Message ToMessage(const rd_kafka_message_t& raw) {
  Message message;
  message.topic = rd_kafka_topic_name(raw.rkt);
  message.partition = raw.partition;
  message.offset = raw.offset;
  if (raw.key != nullptr) {
    message.key.assign(static_cast<const char*>(raw.key), raw.key_len);
  }
  if (raw.payload != nullptr) {
    message.value.assign(static_cast<const char*>(raw.payload), raw.len);
  }
  return message;
}

// Commits what was handled before giving partitions up, so their next owner
// starts after it.
void OnRebalance(rd_kafka_t* handle, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions, void*) {
  bool cooperative =
      absl::string_view(rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE";
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (cooperative) {
      rd_kafka_error_t* error = rd_kafka_incremental_assign(handle, partitions);
      if (error != nullptr) rd_kafka_error_destroy(error);
    } else {
      rd_kafka_assign(handle, partitions);
    }
    return;
  }
  rd_kafka_commit(handle, nullptr, /*async=*/0);
  if (cooperative) {
    rd_kafka_error_t* error = rd_kafka_incremental_unassign(handle, partitions);
    if (error != nullptr) rd_kafka_error_destroy(error);
  } else {
    rd_kafka_assign(handle, nullptr);
  }
}

}  // namespace

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
  rd_kafka_conf_set_rebalance_cb(*conf, OnRebalance);
  char error[512];
  rd_kafka_t* handle =
      rd_kafka_new(RD_KAFKA_CONSUMER, *conf, error, sizeof(error));
  if (handle == nullptr) {
    rd_kafka_conf_destroy(*conf);
    return absl::InvalidArgumentError(absl::StrCat("kafka consumer: ", error));
  }
  rd_kafka_poll_set_consumer(handle);
  return std::unique_ptr<Consumer>(new Consumer(handle, options.topics));
}

Consumer::~Consumer() {
  Stop();
  rd_kafka_destroy(handle_);
}

absl::Status Consumer::Start(Handler handler) {
  if (thread_.joinable() || closed_) {
    return absl::FailedPreconditionError("kafka consumer: already started");
  }
  handler_ = std::move(handler);
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
  thread_ = std::thread([this] { PollLoop(); });
  return absl::OkStatus();
}

void Consumer::PollLoop() {
  int uncommitted = 0;
  while (!stop_.load()) {
    rd_kafka_message_t* raw = rd_kafka_consumer_poll(handle_, kPollTimeoutMs);
    if (raw == nullptr) {
      if (uncommitted > 0) {
        rd_kafka_commit(handle_, nullptr, /*async=*/1);
        uncommitted = 0;
      }
      continue;
    }
    if (raw->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      spdlog::debug("kafka consumer: {}", rd_kafka_message_errstr(raw));
      rd_kafka_message_destroy(raw);
      continue;
    }
    if (Handle(ToMessage(*raw))) {
      rd_kafka_topic_partition_list_t* offsets =
          rd_kafka_topic_partition_list_new(1);
      rd_kafka_topic_partition_list_add(offsets, rd_kafka_topic_name(raw->rkt),
                                        raw->partition)
          ->offset = raw->offset + 1;
      // Fails only if the partition was revoked meanwhile; its new owner
      // then re-reads the message (at least once).
      rd_kafka_offsets_store(handle_, offsets);
      rd_kafka_topic_partition_list_destroy(offsets);
      if (++uncommitted >= kCommitEvery) {
        rd_kafka_commit(handle_, nullptr, /*async=*/1);
        uncommitted = 0;
      }
    }
    rd_kafka_message_destroy(raw);
  }
}

bool Consumer::Handle(const Message& message) {
  absl::Duration backoff = absl::Milliseconds(50);
  while (!stop_.load()) {
    absl::Status handled = handler_(message);
    if (handled.ok()) return true;
    spdlog::warn("kafka consumer: handler failed at {}/{}@{}: {}; retrying",
                 message.topic, message.partition, message.offset,
                 handled.ToString());
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
  // Leaving the group revokes the assignment, and OnRebalance commits
  // synchronously what was handled.
  rd_kafka_consumer_close(handle_);
}

}  // namespace sluice::kafka
