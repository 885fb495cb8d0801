// YAML → protobuf by reflection (see yaml_to_proto.h). One Mapper walks the
// YAML tree and the message descriptor side by side, carrying the key path
// for error messages.
#include "libs/config/yaml_to_proto.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "libs/config/env_expand.h"

namespace sluice::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::EnumDescriptor;
using google::protobuf::EnumValueDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

// Edits (insert, delete, substitute, swap neighbours) that turn a into b.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1,
                                     std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] =
          std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

// The closest field name to `key`, or "" when none is close enough to be a
// plausible typo.
std::string ClosestField(const Descriptor* descriptor, absl::string_view key) {
  size_t limit = std::clamp<size_t>(key.size() / 3, 1, 3);
  size_t best = limit + 1;
  std::string closest;
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const std::string& name = descriptor->field(i)->name();
    // The distance is at least the difference in length: a long key (a
    // pasted value, a fuzzer's) is nobody's typo and costs no quadratic
    // comparison with every field.
    const size_t shorter = std::min(key.size(), name.size());
    if (std::max(key.size(), name.size()) - shorter > limit) continue;
    size_t d = EditDistance(key, name);
    if (d < best) {
      best = d;
      closest = name;
    }
  }
  return closest;
}

bool IsUnspecified(const google::protobuf::EnumValueDescriptor* value) {
  return absl::EndsWith(value->name(), "_UNSPECIFIED");
}

// "PROVIDER_KIND_" for enum ProviderKind.
std::string EnumPrefix(const EnumDescriptor* type) {
  std::string prefix;
  for (char c : type->name()) {
    if (absl::ascii_isupper(c) && !prefix.empty()) prefix.push_back('_');
    prefix.push_back(absl::ascii_toupper(c));
  }
  return prefix + "_";
}

std::string JoinPath(const std::string& path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

class Mapper {
 public:
  Mapper(absl::string_view source, PathMarks* marks)
      : source_(source), marks_(marks) {}

  absl::Status MapMessage(const YAML::Node& node, Message* message,
                          const std::string& path) {
    Record(node, path);
    if (node.IsNull()) return absl::OkStatus();
    const Descriptor* descriptor = message->GetDescriptor();
    if (descriptor->full_name() == "google.protobuf.Duration") {
      return MapDuration(node, message, path);
    }
    if (!node.IsMap()) return Error(node, path, Expected("a mapping", node));
    absl::flat_hash_set<std::string> seen;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        return Error(entry.first, path, "keys must be plain names");
      }
      const std::string& key = entry.first.Scalar();
      std::string child = JoinPath(path, key);
      const FieldDescriptor* field = descriptor->FindFieldByName(key);
      if (field == nullptr) {
        std::string closest = ClosestField(descriptor, key);
        return Error(entry.first, child,
                     closest.empty()
                         ? std::string("unknown key")
                         : absl::StrCat("unknown key (did you mean \"", closest,
                                        "\"?)"));
      }
      if (!seen.insert(key).second) {
        return Error(entry.first, child, "duplicate key");
      }
      if (absl::Status s = MapField(entry.second, message, field, child);
          !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

  absl::Status Error(const YAML::Node& node, const std::string& path,
                     absl::string_view what) const {
    return absl::InvalidArgumentError(
        absl::StrCat(MarkPrefix(source_, node.Mark()), path,
                     path.empty() ? "" : ": ", what));
  }

 private:
  static std::string Expected(absl::string_view what, const YAML::Node& node) {
    if (node.IsScalar()) {
      return absl::StrCat("expected ", what, ", got \"", node.Scalar(), "\"");
    }
    return absl::StrCat("expected ", what, ", got a ",
                        node.IsSequence() ? "list" : "mapping");
  }

  void Record(const YAML::Node& node, const std::string& path) {
    if (marks_ != nullptr && !node.Mark().is_null()) {
      marks_->insert_or_assign(path, node.Mark());
    }
  }

  absl::Status MapField(const YAML::Node& node, Message* message,
                        const FieldDescriptor* field, const std::string& path) {
    Record(node, path);
    if (node.IsNull()) return absl::OkStatus();
    if (field->is_map()) {
      if (!node.IsMap()) return Error(node, path, Expected("a mapping", node));
      const Reflection* reflection = message->GetReflection();
      const FieldDescriptor* key_field = field->message_type()->map_key();
      const FieldDescriptor* value_field = field->message_type()->map_value();
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          return Error(entry.first, path, "map keys must be scalars");
        }
        std::string child = JoinPath(path, entry.first.Scalar());
        Record(entry.second, child);
        Message* item = reflection->AddMessage(message, field);
        if (absl::Status s = MapScalar(entry.first, item, key_field, child);
            !s.ok()) {
          return s;
        }
        if (absl::Status s = MapValue(entry.second, item, value_field, child);
            !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    }
    if (field->is_repeated()) {
      if (!node.IsSequence())
        return Error(node, path, Expected("a list", node));
      for (size_t i = 0; i < node.size(); ++i) {
        std::string child = absl::StrCat(path, "[", i, "]");
        Record(node[i], child);
        if (absl::Status s = MapValue(node[i], message, field, child);
            !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    }
    return MapValue(node, message, field, path);
  }

  // One value of `field` (appended when repeated).
  absl::Status MapValue(const YAML::Node& node, Message* message,
                        const FieldDescriptor* field, const std::string& path) {
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      const Reflection* reflection = message->GetReflection();
      Message* child = field->is_repeated()
                           ? reflection->AddMessage(message, field)
                           : reflection->MutableMessage(message, field);
      return MapMessage(node, child, path);
    }
    return MapScalar(node, message, field, path);
  }

  // The scalar text of `node` with ${VAR} expanded.
  absl::StatusOr<std::string> ScalarText(const YAML::Node& node,
                                         const std::string& path,
                                         absl::string_view what) const {
    if (!node.IsScalar()) return Error(node, path, Expected(what, node));
    absl::StatusOr<std::string> expanded = ExpandEnv(node.Scalar());
    if (!expanded.ok()) return Error(node, path, expanded.status().message());
    return expanded;
  }

  absl::Status MapScalar(const YAML::Node& node, Message* message,
                         const FieldDescriptor* field,
                         const std::string& path) {
    absl::StatusOr<std::string> expanded = ScalarText(node, path, "a value");
    if (!expanded.ok()) return expanded.status();
    const std::string& text = *expanded;
    const Reflection* r = message->GetReflection();
    const bool repeated = field->is_repeated();
    auto expected = [&](absl::string_view what) {
      return Error(node, path,
                   absl::StrCat("expected ", what, ", got \"", text, "\""));
    };
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        repeated ? r->AddString(message, field, text)
                 : r->SetString(message, field, text);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v;
        if (!absl::SimpleAtoi(text, &v)) return expected("an integer");
        repeated ? r->AddInt32(message, field, v)
                 : r->SetInt32(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v;
        if (!absl::SimpleAtoi(text, &v)) return expected("an integer");
        repeated ? r->AddInt64(message, field, v)
                 : r->SetInt64(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t v;
        if (!absl::SimpleAtoi(text, &v)) {
          return expected("a non-negative integer");
        }
        repeated ? r->AddUInt32(message, field, v)
                 : r->SetUInt32(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v;
        if (!absl::SimpleAtoi(text, &v)) {
          return expected("a non-negative integer");
        }
        repeated ? r->AddUInt64(message, field, v)
                 : r->SetUInt64(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_DOUBLE: {
        double v;
        if (!absl::SimpleAtod(text, &v)) return expected("a number");
        repeated ? r->AddDouble(message, field, v)
                 : r->SetDouble(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_FLOAT: {
        float v;
        if (!absl::SimpleAtof(text, &v)) return expected("a number");
        repeated ? r->AddFloat(message, field, v)
                 : r->SetFloat(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        bool v;
        if (absl::EqualsIgnoreCase(text, "true")) {
          v = true;
        } else if (absl::EqualsIgnoreCase(text, "false")) {
          v = false;
        } else {
          return expected("true or false");
        }
        repeated ? r->AddBool(message, field, v)
                 : r->SetBool(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const EnumValueDescriptor* value = FindEnumValue(field, text);
        if (value == nullptr) {
          return Error(node, path, UnknownEnumValue(field, text));
        }
        repeated ? r->AddEnumValue(message, field, value->number())
                 : r->SetEnumValue(message, field, value->number());
        return absl::OkStatus();
      }
      default:
        return Error(node, path, "unsupported field type");
    }
  }

  // "openai", "OpenAI" and "PROVIDER_KIND_OPENAI" all name
  // PROVIDER_KIND_OPENAI. An ..._UNSPECIFIED value is never written; a zero
  // value with a name of its own (ROUTE_STRATEGY_PRIORITY) is.
  static const EnumValueDescriptor* FindEnumValue(const FieldDescriptor* field,
                                                  absl::string_view text) {
    const EnumDescriptor* type = field->enum_type();
    std::string upper = absl::AsciiStrToUpper(text);
    const EnumValueDescriptor* value = type->FindValueByName(upper);
    if (value == nullptr) {
      value = type->FindValueByName(EnumPrefix(type) + upper);
    }
    if (value != nullptr && IsUnspecified(value)) return nullptr;
    return value;
  }

  static std::string UnknownEnumValue(const FieldDescriptor* field,
                                      absl::string_view text) {
    const EnumDescriptor* type = field->enum_type();
    const std::string prefix = EnumPrefix(type);
    std::string allowed;
    for (int i = 0; i < type->value_count(); ++i) {
      if (IsUnspecified(type->value(i))) continue;
      absl::string_view name = type->value(i)->name();
      absl::ConsumePrefix(&name, prefix);
      absl::StrAppend(&allowed, allowed.empty() ? "" : ", ",
                      absl::AsciiStrToLower(name));
    }
    return absl::StrCat("unknown value \"", text,
                        "\" (expected one of: ", allowed, ")");
  }

  absl::Status MapDuration(const YAML::Node& node, Message* message,
                           const std::string& path) {
    absl::StatusOr<std::string> text =
        ScalarText(node, path, "a duration such as \"2s\"");
    if (!text.ok()) return text.status();
    absl::Duration d;
    if (!absl::ParseDuration(*text, &d) || d < absl::ZeroDuration() ||
        d == absl::InfiniteDuration()) {
      return Error(node, path,
                   absl::StrCat("invalid duration \"", *text,
                                "\" (use e.g. 250ms, 2s, 1m30s)"));
    }
    const Descriptor* descriptor = message->GetDescriptor();
    const Reflection* r = message->GetReflection();
    int64_t seconds = absl::IDivDuration(d, absl::Seconds(1), &d);
    r->SetInt64(message, descriptor->FindFieldByName("seconds"), seconds);
    r->SetInt32(message, descriptor->FindFieldByName("nanos"),
                static_cast<int32_t>(absl::ToInt64Nanoseconds(d)));
    return absl::OkStatus();
  }

  std::string source_;
  PathMarks* marks_;
};

}  // namespace

std::string MarkPrefix(absl::string_view source_name, const YAML::Mark& mark) {
  if (mark.is_null()) return absl::StrCat(source_name, ": ");
  return absl::StrCat(source_name, ":", mark.line + 1, ":", mark.column + 1,
                      ": ");
}

absl::Status YamlToMessage(const YAML::Node& node, Message* message,
                           absl::string_view source_name, PathMarks* marks) {
  Mapper mapper(source_name, marks);
  try {
    return mapper.MapMessage(node, message, "");
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(MarkPrefix(source_name, e.mark), e.msg));
  }
}

}  // namespace sluice::config
