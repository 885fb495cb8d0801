#include "libs/config/yaml_to_proto.h"

#include <cstdlib>
#include <string>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace sluice::config {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

class Mapper {
 public:
  explicit Mapper(absl::string_view source) : source_(source) {}

  absl::Status Error(const YAML::Node& node, const std::string& path,
                     absl::string_view what) const {
    YAML::Mark mark = node.Mark();
    return absl::InvalidArgumentError(absl::StrCat(
        source_, ":", mark.line + 1, ":", mark.column + 1, ": ", path,
        path.empty() ? "" : ": ", what));
  }

  absl::Status MapMessage(const YAML::Node& node, Message* message,
                          const std::string& path) {
    if (node.IsNull()) return absl::OkStatus();
    const Descriptor* descriptor = message->GetDescriptor();
    if (descriptor->full_name() == "google.protobuf.Duration") {
      return MapDuration(node, message, path);
    }
    if (!node.IsMap()) return Error(node, path, "expected a mapping");
    for (const auto& entry : node) {
      std::string key = entry.first.as<std::string>();
      std::string child = path.empty() ? key : absl::StrCat(path, ".", key);
      const FieldDescriptor* field = descriptor->FindFieldByName(key);
      if (field == nullptr) {
        std::string suggestion;
        size_t best = 4;
        for (int i = 0; i < descriptor->field_count(); ++i) {
          size_t d = EditDistance(key, descriptor->field(i)->name());
          if (d < best) {
            best = d;
            suggestion = descriptor->field(i)->name();
          }
        }
        return Error(entry.first, child,
                     suggestion.empty()
                         ? std::string("unknown key")
                         : absl::StrCat("unknown key (did you mean \"",
                                        suggestion, "\"?)"));
      }
      if (absl::Status s = MapField(entry.second, message, field, child); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }

 private:
  absl::Status MapField(const YAML::Node& node, Message* message,
                        const FieldDescriptor* field, const std::string& path) {
    if (field->is_map()) {
      if (!node.IsMap()) return Error(node, path, "expected a mapping");
      const Reflection* reflection = message->GetReflection();
      const FieldDescriptor* key_field = field->message_type()->map_key();
      const FieldDescriptor* value_field = field->message_type()->map_value();
      for (const auto& entry : node) {
        Message* item = reflection->AddMessage(message, field);
        std::string child = absl::StrCat(path, ".", entry.first.as<std::string>());
        if (absl::Status s = MapScalar(entry.first, item, key_field, child); !s.ok()) return s;
        if (absl::Status s = MapValue(entry.second, item, value_field, child); !s.ok()) return s;
      }
      return absl::OkStatus();
    }
    if (field->is_repeated()) {
      if (node.IsNull()) return absl::OkStatus();
      if (!node.IsSequence()) return Error(node, path, "expected a list");
      for (size_t i = 0; i < node.size(); ++i) {
        std::string child = absl::StrCat(path, "[", i, "]");
        if (absl::Status s = MapValue(node[i], message, field, child); !s.ok()) return s;
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
      Message* child = field->is_repeated() ? reflection->AddMessage(message, field)
                                            : reflection->MutableMessage(message, field);
      return MapMessage(node, child, path);
    }
    return MapScalar(node, message, field, path);
  }

  absl::StatusOr<std::string> Expand(const YAML::Node& node,
                                     const std::string& path,
                                     const std::string& text) const {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      size_t start = text.find("${", i);
      if (start == std::string::npos) {
        out.append(text, i, std::string::npos);
        break;
      }
      out.append(text, i, start - i);
      size_t end = text.find('}', start);
      if (end == std::string::npos) return Error(node, path, "unclosed ${");
      std::string inner = text.substr(start + 2, end - start - 2);
      std::string name = inner, fallback;
      bool has_default = false;
      if (size_t d = inner.find(":-"); d != std::string::npos) {
        name = inner.substr(0, d);
        fallback = inner.substr(d + 2);
        has_default = true;
      }
      const char* value = std::getenv(name.c_str());
      if (value != nullptr && *value != '\0') {
        out += value;
      } else if (has_default) {
        out += fallback;
      } else {
        return Error(node, path,
                     absl::StrCat("environment variable ", name, " is not set"));
      }
      i = end + 1;
    }
    return out;
  }

  absl::Status MapScalar(const YAML::Node& node, Message* message,
                         const FieldDescriptor* field, const std::string& path) {
    if (!node.IsScalar()) return Error(node, path, "expected a single value");
    absl::StatusOr<std::string> expanded = Expand(node, path, node.Scalar());
    if (!expanded.ok()) return expanded.status();
    const std::string& text = *expanded;
    const Reflection* r = message->GetReflection();
    bool repeated = field->is_repeated();
    auto got = [&](const char* expected) {
      return Error(node, path, absl::StrCat("expected ", expected, ", got \"", text, "\""));
    };
    switch (field->cpp_type()) {
      case FieldDescriptor::CPPTYPE_STRING:
        repeated ? r->AddString(message, field, text) : r->SetString(message, field, text);
        return absl::OkStatus();
      case FieldDescriptor::CPPTYPE_INT32: {
        int32_t v;
        if (!absl::SimpleAtoi(text, &v)) return got("an integer");
        repeated ? r->AddInt32(message, field, v) : r->SetInt32(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_INT64: {
        int64_t v;
        if (!absl::SimpleAtoi(text, &v)) return got("an integer");
        repeated ? r->AddInt64(message, field, v) : r->SetInt64(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT32: {
        uint32_t v;
        if (!absl::SimpleAtoi(text, &v)) return got("a non-negative integer");
        repeated ? r->AddUInt32(message, field, v) : r->SetUInt32(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_UINT64: {
        uint64_t v;
        if (!absl::SimpleAtoi(text, &v)) return got("a non-negative integer");
        repeated ? r->AddUInt64(message, field, v) : r->SetUInt64(message, field, v);
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_DOUBLE:
      case FieldDescriptor::CPPTYPE_FLOAT: {
        double v;
        if (!absl::SimpleAtod(text, &v)) return got("a number");
        if (field->cpp_type() == FieldDescriptor::CPPTYPE_FLOAT) {
          repeated ? r->AddFloat(message, field, static_cast<float>(v))
                   : r->SetFloat(message, field, static_cast<float>(v));
        } else {
          repeated ? r->AddDouble(message, field, v) : r->SetDouble(message, field, v);
        }
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_BOOL: {
        if (text != "true" && text != "false") return got("true or false");
        repeated ? r->AddBool(message, field, text == "true")
                 : r->SetBool(message, field, text == "true");
        return absl::OkStatus();
      }
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* type = field->enum_type();
        // PROVIDER_KIND_OPENAI may be written "openai".
        std::string prefix;
        for (char c : type->name()) {
          if (absl::ascii_isupper(c) && !prefix.empty()) prefix.push_back('_');
          prefix.push_back(absl::ascii_toupper(c));
        }
        prefix += "_";
        std::string upper = absl::AsciiStrToUpper(text);
        const auto* value = type->FindValueByName(upper);
        if (value == nullptr) value = type->FindValueByName(prefix + upper);
        if (value == nullptr || value->number() == 0) {
          std::string allowed;
          for (int i = 1; i < type->value_count(); ++i) {
            std::string name = type->value(i)->name();
            if (absl::StartsWith(name, prefix)) name = name.substr(prefix.size());
            absl::StrAppend(&allowed, i > 1 ? ", " : "", absl::AsciiStrToLower(name));
          }
          return Error(node, path, absl::StrCat("unknown value \"", text,
                                                "\" (expected one of: ", allowed, ")"));
        }
        repeated ? r->AddEnumValue(message, field, value->number())
                 : r->SetEnumValue(message, field, value->number());
        return absl::OkStatus();
      }
      default:
        return Error(node, path, "unsupported field type");
    }
  }

  absl::Status MapDuration(const YAML::Node& node, Message* message,
                           const std::string& path) {
    if (!node.IsScalar()) return Error(node, path, "expected a duration such as \"2s\"");
    absl::Duration d;
    if (!absl::ParseDuration(node.Scalar(), &d) || d < absl::ZeroDuration()) {
      return Error(node, path, absl::StrCat("invalid duration \"", node.Scalar(),
                                            "\" (use e.g. 250ms, 2s, 1m30s)"));
    }
    auto* duration = static_cast<google::protobuf::Duration*>(message);
    int64_t nanos = absl::ToInt64Nanoseconds(d);
    duration->set_seconds(nanos / 1000000000);
    duration->set_nanos(static_cast<int32_t>(nanos % 1000000000));
    return absl::OkStatus();
  }

  std::string source_;
};

}  // namespace

absl::Status YamlToMessage(const YAML::Node& node, Message* message,
                           absl::string_view source_name) {
  Mapper mapper(source_name);
  try {
    return mapper.MapMessage(node, message, "");
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ":", e.mark.line + 1, ": ", e.msg));
  }
}

}  // namespace sluice::config
