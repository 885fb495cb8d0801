#include "libs/kafka/consumer.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "spdlog/spdlog.h"

namespace sluice::kafka {

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(
    const ConsumerOptions& options) {
  KafkaSettings settings = {{"bootstrap.servers", options.brokers},
                            {"group.id", options.group_id},
                            {"auto.offset.reset", options.auto_offset_reset},
                            {"enable.auto.commit", "false"},
                            {"session.timeout.ms", "6000"},
                            {"heartbeat.interval.ms", "500"},
                            {"topic.metadata.refresh.interval.ms", "1000"},
                            {"allow.auto.create.topics", "true"}};
  settings.insert(settings.end(), options.extra.begin(), options.extra.end());
  absl::StatusOr<rd_kafka_conf_t*> conf = MakeConfig(settings);
  if (!conf.ok()) return conf.status();
  char error[512];
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_CONSUMER, *conf, error, sizeof(error));
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
  handler_ = std::move(handler);
  rd_kafka_topic_partition_list_t* topics =
      rd_kafka_topic_partition_list_new(static_cast<int>(topics_.size()));
  for (const auto& topic : topics_) {
    rd_kafka_topic_partition_list_add(topics, topic.c_str(), RD_KAFKA_PARTITION_UA);
  }
  rd_kafka_resp_err_t err = rd_kafka_subscribe(handle_, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("kafka subscribe: ", rd_kafka_err2str(err)));
  }
  thread_ = std::thread([this] { Run(); });
  return absl::OkStatus();
}

void Consumer::Run() {
  while (!stop_.load()) {
    rd_kafka_message_t* raw = rd_kafka_consumer_poll(handle_, 100);
    if (raw == nullptr) continue;
    if (raw->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (raw->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        spdlog::debug("kafka consumer: {}", rd_kafka_message_errstr(raw));
      }
      rd_kafka_message_destroy(raw);
      continue;
    }
    Message message;
    message.topic = rd_kafka_topic_name(raw->rkt);
    message.partition = raw->partition;
    message.offset = raw->offset;
    if (raw->key != nullptr) {
      message.key.assign(static_cast<const char*>(raw->key), raw->key_len);
    }
    if (raw->payload != nullptr) {
      message.value.assign(static_cast<const char*>(raw->payload), raw->len);
    }
    absl::Duration backoff = absl::Milliseconds(50);
    while (!stop_.load()) {
      absl::Status handled = handler_(message);
      if (handled.ok()) {
        rd_kafka_commit_message(handle_, raw, /*async=*/1);
        break;
      }
      spdlog::warn("kafka consumer: handler failed at {}/{}@{}: {}; retrying",
                   message.topic, message.partition, message.offset,
                   handled.ToString());
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(5));
    }
    rd_kafka_message_destroy(raw);
  }
}

void Consumer::Stop() {
  if (closed_) return;
  closed_ = true;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  rd_kafka_commit(handle_, nullptr, /*async=*/0);
  rd_kafka_consumer_close(handle_);
}

}  // namespace sluice::kafka
