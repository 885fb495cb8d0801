// The pre-tokenizers of byte-level BPE vocabularies: the text is cut into
// words before merges run, exactly where llama.cpp cuts it for the same
// `tokenizer.ggml.pre`. llama.cpp runs most of these as std::regex over
// wide strings (about 0.5 MB/s); here each is a scanner over codepoints that
// keeps the regex's semantics, including the quirks of llama.cpp's own
// hand-written splitters and of its "collapsed" category trick.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace sluice::tokenizer {

class PreTokenizer {
 public:
  // The pre-tokenizer of llama.cpp's `tokenizer.ggml.pre` name `pre` (an
  // empty name is llama.cpp's default). UNIMPLEMENTED for one we have not
  // written (the caller keeps llama.cpp's tokenizer for it).
  static absl::StatusOr<std::unique_ptr<PreTokenizer>> ForName(
      absl::string_view pre);
  ~PreTokenizer();

  // Cuts the `size` codepoints at `cpts` into words: appends each word's
  // end (an index into cpts) to `ends`, in order, the last one `size`.
  void Split(const uint32_t* cpts, uint32_t size,
             std::vector<uint32_t>& ends) const;
  // The same for `size` bytes of text in which each character that is not
  // ASCII was replaced by one byte from 0x80, byte b standing for codepoint
  // high[b - 0x80], b below 0x80 + high_count (ASCII text needs no
  // decoding; nearly ASCII text, a copy). Pure ASCII text passes no `high`.
  void SplitBytes(const uint8_t* bytes, uint32_t size, const uint32_t* high,
                  size_t high_count, std::vector<uint32_t>& ends) const;

  // llama.cpp's `ignore_merges`: a word that is itself a token is that
  // token, whatever the merges would make of it.
  bool ignore_merges() const { return ignore_merges_; }

  // Whether the first stage makes every '\r' and '\n' a word of its own:
  // then text split at a newline splits into the same words.
  bool isolates_newlines() const { return isolates_newlines_; }

  struct Stage;

 private:
  PreTokenizer() = default;
  // Cuts `text` by `stages` (stages_, less those that leave it whole).
  template <typename Text>
  void SplitText(const Text& text, uint32_t size,
                 const std::vector<const Stage*>& stages,
                 std::vector<uint32_t>& ends) const;
  // Cuts [begin, end) of `cpts` by stages[stage] and each piece by the
  // stages after it, appending the words' ends to `ends`.
  template <typename Text>
  void SplitFrom(const std::vector<const Stage*>& stages, size_t stage,
                 const Text& cpts, uint32_t begin, uint32_t end,
                 std::vector<std::vector<uint32_t>>& scratch,
                 std::vector<uint32_t>& ends) const;
  std::vector<std::unique_ptr<Stage>> stages_;
  std::vector<const Stage*> all_stages_;  // stages_, as SplitText takes them
  bool ignore_merges_ = false;
  bool isolates_newlines_ = false;
};

}  // namespace sluice::tokenizer
