#!/usr/bin/env python3
"""Writes the tokenizer benchmark's four texts into a folder, the same on
every Debian machine: English prose (the licence texts of base-files),
source code (this repository's C++), CJK, and a mix of the three with emoji.

No Chinese prose ships with Debian, so the CJK text is made of the Chinese
word tokens of Qwen2's vocabulary (read from llama.cpp's ggml-vocab-qwen2.gguf)
drawn with a fixed seed, in sentences closed by CJK punctuation: real words
of a real vocabulary, in the shape tokenizers meet."""
import glob
import os
import random
import struct
import sys

out, vocab_dir, repo = sys.argv[1], sys.argv[2], sys.argv[3]
SIZE = 256 * 1024
os.makedirs(out, exist_ok=True)


def fill(pieces, size=SIZE):
    text, i = [], 0
    total = 0
    while total < size:
        piece = pieces[i % len(pieces)]
        text.append(piece)
        total += len(piece.encode())
        i += 1
    return "".join(text).encode()[:size].decode("utf-8", "ignore")


def gguf_tokens(path):
    """The token texts of a GGUF vocabulary (tokenizer.ggml.tokens)."""
    data = open(path, "rb").read()
    key = b"tokenizer.ggml.tokens"
    at = data.find(key) + len(key)
    kind, item_kind, count = struct.unpack("<IIQ", data[at:at + 16])
    assert kind == 9 and item_kind == 8, "tokens are not a string array"
    at += 16
    tokens = []
    for _ in range(count):
        (length,) = struct.unpack("<Q", data[at:at + 8])
        tokens.append(data[at + 8:at + 8 + length].decode("utf-8", "replace"))
        at += 8 + length
    return tokens


def byte_decoder():
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    chars, n = {}, 0
    for b in range(256):
        if b in printable:
            chars[chr(b)] = b
        else:
            chars[chr(256 + n)] = b
            n += 1
    return chars


licences = sorted(glob.glob("/usr/share/common-licenses/*"))
english = [open(p, encoding="utf-8", errors="ignore").read() for p in licences if os.path.isfile(p)]
code_files = sorted(glob.glob(f"{repo}/libs/**/*.cc", recursive=True) +
                    glob.glob(f"{repo}/services/**/*.cc", recursive=True))
code = [open(p, encoding="utf-8").read() for p in code_files]

decode = byte_decoder()
words = []
for token in gguf_tokens(f"{vocab_dir}/ggml-vocab-qwen2.gguf"):
    try:
        text = bytes(decode[c] for c in token).decode("utf-8")
    except (KeyError, UnicodeDecodeError):
        continue
    if text and all("\u4e00" <= c <= "\u9fff" for c in text):
        words.append(text)
rng = random.Random(20261206)
cjk = []
for _ in range(40000):
    sentence = "".join(rng.choice(words) for _ in range(rng.randint(4, 14)))
    cjk.append(sentence + rng.choice(["。", "，", "；", "？", "！", "：", "、"]))
    if rng.random() < 0.1:
        cjk.append("\n")

emoji = ["🙂", "🚀", "👍🏽", "👨‍👩‍👧", "✅", "🔥", "❤️"]
mixed = []
for i in range(2000):
    mixed.append(english[i % len(english)][(i * 997) % 5000:][:400])
    mixed.append("\n```cpp\n" + code[i % len(code)][:300] + "\n```\n")
    mixed.append("".join(cjk[(i * 7) % len(cjk):(i * 7) % len(cjk) + 3]))
    mixed.append(" " + emoji[i % len(emoji)] + "\n\n")

for name, pieces in [("english", english), ("code", code), ("cjk", cjk), ("mixed", mixed)]:
    with open(f"{out}/{name}.txt", "w", encoding="utf-8") as f:
        f.write(fill(pieces))
print(f"{len(words)} CJK words from qwen2; texts in {out}", file=sys.stderr)
