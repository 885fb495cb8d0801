// Tests of the multipart/form-data parser: bodies captured from curl, the
// openai node SDK and undici's FormData, then the edge cases of RFC 7578
// and RFC 2046 (quoted boundaries, preamble and epilogue, bare LFs, binary
// data with near-miss delimiters) and the errors.
#include "libs/http/multipart.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sluice::http {
namespace {

using ::testing::HasSubstr;

constexpr absl::string_view kJsonl =
    "{\"custom_id\":\"r1\",\"url\":\"/v1/chat/completions\"}\n"
    "{\"custom_id\":\"r2\",\"url\":\"/v1/chat/completions\"}\n";

// Expects the two fields of a batch upload: purpose=batch and the file.
void ExpectBatchUpload(const absl::StatusOr<std::vector<FormPart>>& parts,
                       absl::string_view filename,
                       absl::string_view content_type) {
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].name, "purpose");
  EXPECT_EQ((*parts)[0].filename, "");
  EXPECT_EQ((*parts)[0].content_type, "");
  EXPECT_EQ((*parts)[0].data, "batch");
  EXPECT_EQ((*parts)[1].name, "file");
  EXPECT_EQ((*parts)[1].filename, filename);
  EXPECT_EQ((*parts)[1].content_type, content_type);
  EXPECT_EQ((*parts)[1].data, kJsonl);
}

// What `curl -F purpose=batch -F file=@batch.jsonl` (curl 7.88.1) sent.
TEST(MultipartTest, CurlUpload) {
  constexpr absl::string_view kBody =
      "--------------------------30851f1cfd6002bb\r\n"
      "Content-Disposition: form-data; name=\"purpose\"\r\n"
      "\r\n"
      "batch\r\n"
      "--------------------------30851f1cfd6002bb\r\n"
      "Content-Disposition: form-data; name=\"file\"; "
      "filename=\"batch.jsonl\"\r\n"
      "Content-Type: application/octet-stream\r\n"
      "\r\n"
      "{\"custom_id\":\"r1\",\"url\":\"/v1/chat/completions\"}\n"
      "{\"custom_id\":\"r2\",\"url\":\"/v1/chat/completions\"}\n"
      "\r\n"
      "--------------------------30851f1cfd6002bb--\r\n";
  ASSERT_EQ(kBody.size(), 400u);  // its Content-Length
  ExpectBatchUpload(
      ParseMultipartForm("multipart/form-data; "
                         "boundary=------------------------30851f1cfd6002bb",
                         kBody),
      "batch.jsonl", "application/octet-stream");
}

// What the openai node SDK 4.104.0 (node 20) sent for
// client.files.create({file: fs.createReadStream(...), purpose: 'batch'}):
// note the epilogue, a CRLF after the close delimiter.
TEST(MultipartTest, OpenAiNodeSdkUpload) {
  constexpr absl::string_view kBody =
      "--form-data-boundary-laloce0yh44hm1ov\r\n"
      "Content-Disposition: form-data; name=\"purpose\"\r\n"
      "\r\n"
      "batch\r\n"
      "--form-data-boundary-laloce0yh44hm1ov\r\n"
      "Content-Disposition: form-data; name=\"file\"; "
      "filename=\"batch.jsonl\"\r\n"
      "Content-Type: application/octet-stream\r\n"
      "\r\n"
      "{\"custom_id\":\"r1\",\"url\":\"/v1/chat/completions\"}\n"
      "{\"custom_id\":\"r2\",\"url\":\"/v1/chat/completions\"}\n"
      "\r\n"
      "--form-data-boundary-laloce0yh44hm1ov--\r\n"
      "\r\n";
  ASSERT_EQ(kBody.size(), 387u);
  ExpectBatchUpload(
      ParseMultipartForm(
          "multipart/form-data; boundary=form-data-boundary-laloce0yh44hm1ov",
          kBody),
      "batch.jsonl", "application/octet-stream");
}

// What node 20's fetch sent for an undici FormData with a Blob of type
// application/jsonl named `batch "q".jsonl`: undici percent-encodes the
// quotes, and the parser leaves them so.
TEST(MultipartTest, UndiciFormDataUpload) {
  constexpr absl::string_view kBody =
      "------formdata-undici-016511008772\r\n"
      "Content-Disposition: form-data; name=\"purpose\"\r\n"
      "\r\n"
      "batch\r\n"
      "------formdata-undici-016511008772\r\n"
      "Content-Disposition: form-data; name=\"file\"; "
      "filename=\"batch %22q%22.jsonl\"\r\n"
      "Content-Type: application/jsonl\r\n"
      "\r\n"
      "{\"custom_id\":\"r1\",\"url\":\"/v1/chat/completions\"}\n"
      "{\"custom_id\":\"r2\",\"url\":\"/v1/chat/completions\"}\n"
      "\r\n"
      "------formdata-undici-016511008772--\r\n";
  ASSERT_EQ(kBody.size(), 377u);
  ExpectBatchUpload(
      ParseMultipartForm(
          "multipart/form-data; boundary=----formdata-undici-016511008772",
          kBody),
      "batch %22q%22.jsonl", "application/jsonl");
}

// A CRLF form with boundary "XyZ" whose parts hold `values` under the names
// f0, f1, ...
std::string Form(const std::vector<std::string>& values) {
  std::string body;
  for (size_t i = 0; i < values.size(); ++i) {
    absl::StrAppend(&body, "--XyZ\r\nContent-Disposition: form-data; name=f", i,
                    "\r\n\r\n", values[i], "\r\n");
  }
  absl::StrAppend(&body, "--XyZ--\r\n");
  return body;
}

TEST(MultipartTest, DataPointsIntoTheBody) {
  std::string body = Form({"first", "second"});
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseMultipartForm("multipart/form-data; boundary=XyZ", body);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  for (const FormPart& part : *parts) {
    EXPECT_GE(part.data.data(), body.data());
    EXPECT_LE(part.data.data() + part.data.size(), body.data() + body.size());
  }
  EXPECT_EQ((*parts)[1].data.data(), body.data() + body.find("second"));
}

TEST(MultipartTest, BoundaryQuotedOrNotAndTypeInAnyCase) {
  // RFC 2046's example boundary has a space, so it must be quoted.
  std::string body =
      "--simple boundary\r\nContent-Disposition: form-data; name=a\r\n\r\n"
      "x\r\n--simple boundary--\r\n";
  for (absl::string_view content_type :
       {"multipart/form-data; boundary=\"simple boundary\"",
        "Multipart/Form-Data;BOUNDARY=\"simple boundary\"; charset=utf-8",
        "multipart/form-data; charset=\"utf-8\"; boundary = \"simple "
        "boundary\""}) {
    absl::StatusOr<std::vector<FormPart>> parts =
        ParseMultipartForm(content_type, body);
    ASSERT_TRUE(parts.ok()) << content_type << ": " << parts.status();
    ASSERT_EQ(parts->size(), 1u);
    EXPECT_EQ((*parts)[0].data, "x");
  }
  // Parts point into the body: it outlives them.
  const std::string unquoted = Form({"unquoted"});
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseMultipartForm("MULTIPART/FORM-DATA; boundary=XyZ", unquoted);
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_EQ((*parts)[0].data, "unquoted");
}

TEST(MultipartTest, PreambleAndEpilogueAreIgnored) {
  std::string body = absl::StrCat(
      "This is the preamble.\r\n--XyZ lookalike\r\n--XyZx\r\n", Form({"v"}),
      "This is the epilogue.\r\n--XyZ\r\nContent-Disposition: form-data; "
      "name=late\r\n\r\nignored\r\n");
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseMultipartForm("multipart/form-data; boundary=XyZ", body);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 1u);
  EXPECT_EQ((*parts)[0].name, "f0");
  EXPECT_EQ((*parts)[0].data, "v");
}

TEST(MultipartTest, BareLineFeedsAreTolerated) {
  absl::StatusOr<std::vector<FormPart>> parts = ParseMultipartForm(
      "multipart/form-data; boundary=b",
      "--b\nContent-Disposition: form-data; name=\"purpose\"\n\nbatch\n"
      "--b\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\n"
      "Content-Type: text/plain\n\nline 1\nline 2\n\n--b--\n");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].data, "batch");
  EXPECT_EQ((*parts)[1].filename, "a");
  EXPECT_EQ((*parts)[1].content_type, "text/plain");
  EXPECT_EQ((*parts)[1].data, "line 1\nline 2\n");
}

// Data with every byte value, CRs and LFs, and lines that resemble the
// delimiter (CRLF "--" boundary, then "--" or the line's end) but are not
// one, comes back byte for byte.
TEST(MultipartTest, BinaryDataWithNearMissDelimiters) {
  std::string data;
  for (int byte = 0; byte < 256; ++byte)
    data.push_back(static_cast<char>(byte));
  data += std::string("\0\r\n\r\n\r", 6);
  data += "--XyZ at the start of the data is only a delimiter after a CRLF";
  data += "\r\n--XyZx\r\n";  // a longer boundary
  data += "\r\n--XyZ padded then text\r\n";
  data += "\r\n--Xy\r\n";      // a shorter one
  data += "\r\n-XyZ\r\n";      // one dash
  data += "\n--XyZ\r\n";       // LF without CR in a CRLF body
  data += "text--XyZ--\r\n";   // not at the start of a line
  data += "\r\n--XyZ-";        // nearly a delimiter, at the end
  std::string data2 = "\r\n";  // data that is one line break
  const std::string body = Form({data, data2, ""});
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseMultipartForm("multipart/form-data; boundary=XyZ", body);
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].data, data);
  EXPECT_EQ((*parts)[1].data, data2);
  EXPECT_EQ((*parts)[2].data, "");
}

TEST(MultipartTest, DelimiterLinesMayHavePadding) {
  absl::StatusOr<std::vector<FormPart>> parts = ParseMultipartForm(
      "multipart/form-data; boundary=b",
      "--b \t\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n"
      "--b  \r\nContent-Disposition: form-data; name=b\r\n\r\ny\r\n--b--");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].data, "x");
  EXPECT_EQ((*parts)[1].data, "y");
}

TEST(MultipartTest, ContentDispositionParameters) {
  absl::StatusOr<std::vector<FormPart>> parts = ParseMultipartForm(
      "multipart/form-data; boundary=b",
      "--b\r\n"
      "content-disposition: FORM-DATA; NAME=\"a;b\"; "
      "filename=\"say \\\"hi\\\".jsonl\"; filename*=UTF-8''x%20y\r\n"
      "CONTENT-TYPE:application/jsonl\r\n"
      "X-Other: ignored\r\n"
      "\r\n"
      "1\r\n"
      "--b\r\n"
      "Content-Disposition: form-data;name=token;filename=plain.txt\r\n"
      "\r\n"
      "2\r\n"
      "--b\r\n"
      "Content-Disposition: form-data; filename=\"\"; name=\"upload\"\r\n"
      "\r\n"
      "\r\n"
      "--b--\r\n");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].name, "a;b");
  EXPECT_EQ((*parts)[0].filename, "say \"hi\".jsonl");
  EXPECT_EQ((*parts)[0].content_type, "application/jsonl");
  EXPECT_EQ((*parts)[0].data, "1");
  EXPECT_EQ((*parts)[1].name, "token");
  EXPECT_EQ((*parts)[1].filename, "plain.txt");
  EXPECT_EQ((*parts)[1].content_type, "");
  EXPECT_EQ((*parts)[2].name, "upload");
  EXPECT_EQ((*parts)[2].filename, "");
  EXPECT_EQ((*parts)[2].data, "");
}

TEST(MultipartTest, FormWithNoParts) {
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseMultipartForm("multipart/form-data; boundary=b", "--b--\r\n");
  ASSERT_TRUE(parts.ok()) << parts.status();
  EXPECT_TRUE(parts->empty());
}

TEST(MultipartTest, FindFormPart) {
  std::string body = Form({"zero", "one"});
  absl::StatusOr<std::vector<FormPart>> parts =
      ParseMultipartForm("multipart/form-data; boundary=XyZ", body);
  ASSERT_TRUE(parts.ok()) << parts.status();
  const FormPart* one = FindFormPart(*parts, "f1");
  ASSERT_NE(one, nullptr);
  EXPECT_EQ(one->data, "one");
  EXPECT_EQ(FindFormPart(*parts, "f2"), nullptr);
}

struct ErrorCase {
  const char* what;
  const char* content_type;
  std::string body;
  const char* message;  // a part of the error's message
};

TEST(MultipartTest, Errors) {
  const std::string part_a =
      "--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n";
  const ErrorCase cases[] = {
      {"not multipart", "application/json", "{}",
       "Content-Type is \"application/json\", not multipart/form-data"},
      {"another multipart", "multipart/mixed; boundary=b", part_a + "--b--",
       "not multipart/form-data"},
      {"no boundary", "multipart/form-data", part_a + "--b--",
       "has no boundary parameter"},
      {"empty boundary", "multipart/form-data; boundary=\"\"", part_a + "--b--",
       "has no boundary parameter"},
      {"unterminated quote", "multipart/form-data; boundary=\"b",
       part_a + "--b--", "unterminated quoted string"},
      {"no opening boundary", "multipart/form-data; boundary=c",
       part_a + "--b--", "no opening boundary --c"},
      {"empty body", "multipart/form-data; boundary=b", "",
       "no opening boundary --b"},
      {"no close", "multipart/form-data; boundary=b", part_a,
       "missing closing boundary --b--"},
      {"truncated data", "multipart/form-data; boundary=b",
       part_a.substr(0, part_a.size() - 3), "missing closing boundary"},
      {"ends at a delimiter", "multipart/form-data; boundary=b",
       part_a + "--b\r\n", "missing closing boundary"},
      {"only a near miss", "multipart/form-data; boundary=b",
       part_a + "--bb--\r\n", "missing closing boundary"},
      {"no name", "multipart/form-data; boundary=b",
       part_a + "--b\r\nContent-Disposition: form-data; filename=\"f\"\r\n"
                "\r\nx\r\n--b--",
       "part 2 has no name"},
      {"empty name", "multipart/form-data; boundary=b",
       "--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\nx\r\n--b--",
       "part 1 has no name"},
      {"no disposition", "multipart/form-data; boundary=b",
       "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--",
       "part 1 has no Content-Disposition header"},
      {"not form-data", "multipart/form-data; boundary=b",
       "--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--",
       "Content-Disposition is \"attachment\", not form-data"},
      {"unterminated filename", "multipart/form-data; boundary=b",
       "--b\r\nContent-Disposition: form-data; name=a; filename=\"x\r\n"
       "\r\nx\r\n--b--",
       "unterminated quoted string in parameter filename"},
      {"malformed header", "multipart/form-data; boundary=b",
       "--b\r\nContent-Disposition form-data\r\n\r\nx\r\n--b--",
       "part 1: malformed header line"},
      {"headers run into the boundary", "multipart/form-data; boundary=b",
       "--b\r\nContent-Disposition: form-data; name=a\r\n--b--\r\n",
       "part 1: headers do not end before the next boundary"},
      {"headers never end", "multipart/form-data; boundary=b",
       "--b\r\nContent-Disposition: form-data; name=a",
       "part 1: headers do not end"},
  };
  for (const ErrorCase& c : cases) {
    absl::StatusOr<std::vector<FormPart>> parts =
        ParseMultipartForm(c.content_type, c.body);
    EXPECT_EQ(parts.status().code(), absl::StatusCode::kInvalidArgument)
        << c.what << ": " << parts.status();
    EXPECT_THAT(parts.status().message(), HasSubstr(c.message)) << c.what;
  }
}

}  // namespace
}  // namespace sluice::http
