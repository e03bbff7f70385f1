#include "tokenizer/gpt2_tokenizer.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "mtnlg/error.hpp"

namespace mtnlg::tokenizer {
namespace {

using ::testing::HasSubstr;
using Ids = std::vector<std::int32_t>;

const Gpt2Tokenizer& gpt2() {
  static const Gpt2Tokenizer tokenizer = Gpt2Tokenizer::load(Gpt2Tokenizer::default_dir());
  return tokenizer;
}

// The error that load() throws for `dir`, or "" when it loads.
std::string load_error(const std::filesystem::path& dir) {
  try {
    Gpt2Tokenizer::load(dir);
  } catch (const mtnlg::Error& e) {
    return e.what();
  }
  return "";
}

// A vocabulary directory to break, removed when the test ends.
class VocabDir {
 public:
  VocabDir() {
    static int count = 0;
    // The pid keeps tests that ctest runs in parallel processes apart.
    path_ = std::filesystem::temp_directory_path() /
            ("mtnlg-tokenizer-test-" + std::to_string(::getpid()) + "-" + std::to_string(count++));
    std::filesystem::create_directories(path_);
  }
  ~VocabDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  VocabDir(const VocabDir&) = delete;
  VocabDir& operator=(const VocabDir&) = delete;

  void copy(const std::string& name) const {
    std::filesystem::copy_file(Gpt2Tokenizer::default_dir() / name, path_ / name);
  }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path_ / name) << text; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(Gpt2Tokenizer, GoldenVectors) {
  // From shared/data/gpt2/README.md: the ids that gpt-3-encoder and gpt-tokenizer both give.
  const std::vector<std::pair<std::string, Ids>> golden = {
      {"Hello world! The quick brown fox jumps over the lazy dog.",
       {15496, 995, 0, 383, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13}},
      {" Hello", {18435}},
      {"I'm   here\n\nnow", {40, 1101, 220, 220, 994, 198, 198, 2197}},
      {"naïve café 日本語 🙂", {2616, 38776, 40304, 10545, 245, 98, 17312, 105, 45739, 252, 32485}},
  };
  for (const auto& [text, ids] : golden) EXPECT_EQ(gpt2().encode(text), ids) << text;
}

TEST(Gpt2Tokenizer, EndOfTextInTheInputIsPlainText) {
  EXPECT_EQ(gpt2().encode("<|endoftext|>"), (Ids{27, 91, 437, 1659, 5239, 91, 29}));
  EXPECT_EQ(gpt2().eod(), 50256);
  EXPECT_EQ(gpt2().vocab_size(), 50257);
  EXPECT_EQ(gpt2().decode(Ids{15496, 50256, 18435}), "Hello<|endoftext|> Hello");
}

TEST(Gpt2Tokenizer, WhitespaceIsUnicodeWhiteSpaceAsInTiktoken) {
  // The ids of OpenAI's tiktoken (gpt2 encoding), whose \s is Unicode's White_Space: U+0085 is a space,
  // U+FEFF and U+180E are not. gpt-3-encoder differs on the first two: its JavaScript \s is another set.
  EXPECT_EQ(gpt2().encode("x \u0085y"), (Ids{87, 220, 126, 227, 88}));
  EXPECT_EQ(gpt2().encode("x \uFEFFy"), (Ids{87, 27332, 119, 123, 88}));
  EXPECT_EQ(gpt2().encode("x \u180Ey"), (Ids{87, 28053, 254, 236, 88}));
  EXPECT_EQ(gpt2().encode("x \u3000y"), (Ids{87, 220, 5099, 222, 88}));
}

TEST(Gpt2Tokenizer, ContractionsAreLowerCaseOnly) {
  EXPECT_EQ(gpt2().encode("it's"), (Ids{270, 338}));
  EXPECT_EQ(gpt2().encode("IT'S"), (Ids{2043, 6, 50}));
}

TEST(Gpt2Tokenizer, RoundTripsVariedText) {
  const std::vector<std::string> texts = {
      "",
      " ",
      "\n",
      "   leading and trailing   ",
      "tabs\tand\r\nnewlines\n\n\n  \t",
      "they'll've we'd I'M YOU'RE don't",
      "Ünïcödé: Ελληνικά, русский, עברית, العربية, हिन्दी, 中文, 日本語, 한국어",
      "emoji 👨‍👩‍👧‍👦 🏳️‍🌈 🇩🇪 1️⃣ 👍🏿",
      "digits 0123456789 ٣ १ ½ Ⅻ 3.14159e-10",
      "e\u0301 combining, non\u00A0breaking, zero\u200Bwidth, bom\uFEFF",
      "<|endoftext|> plain <|endoftext|>",
      std::string("nul\0byte", 8),
  };
  for (const std::string& text : texts) EXPECT_EQ(gpt2().decode(gpt2().encode(text)), text) << text;
}

TEST(Gpt2Tokenizer, InvalidUtf8IsEncodedAsItsBytes) {
  // Each run of invalid bytes is a word of its own; what comes after is encoded as if the text started there.
  const Ids ff = gpt2().encode("\xff");
  ASSERT_EQ(ff.size(), 1u);
  EXPECT_EQ(gpt2().decode(ff), "\xff");
  Ids expected = gpt2().encode("abc");
  expected.insert(expected.end(), ff.begin(), ff.end());
  const Ids hello = gpt2().encode(" hello");
  expected.insert(expected.end(), hello.begin(), hello.end());
  EXPECT_EQ(gpt2().encode("abc\xff hello"), expected);

  // Truncated sequences, a UTF-8 surrogate, an overlong encoding, a stray continuation byte, beyond U+10FFFF.
  for (const std::string text :
       {"\xe6\x97", "a\xed\xa0\x80z", "\xc0\xaf", "x\x80y", "\xf4\x90\x80\x80", "é\xc3"}) {
    EXPECT_EQ(gpt2().decode(gpt2().encode(text)), text);
  }
  std::mt19937 random(7);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(random() % 40, '\0');
    for (char& b : bytes) b = char(random() % 256);
    ASSERT_EQ(gpt2().decode(gpt2().encode(bytes)), bytes);
  }
}

TEST(Gpt2Tokenizer, DecodeKeepsTheBytesOfSplitCharacters) {
  const Ids ids = gpt2().encode("日");
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(gpt2().decode(Ids{ids[0]}) + gpt2().decode(Ids{ids[1]}), "日");
}

TEST(Gpt2Tokenizer, LongWordsAndRuns) {
  // Words of 64 KiB: the merge loop must not be quadratic, nor the regex overflow its stack.
  for (const std::string unit : {"a", " ", "7", "!", "ab ", "é", "\n\n"}) {
    std::string text;
    while (text.size() < (1 << 16)) text += unit;
    EXPECT_EQ(gpt2().decode(gpt2().encode(text)), text) << "runs of '" << unit << "'";
  }
}

TEST(Gpt2Tokenizer, ConcurrentEncodeMatchesSequential) {
  std::vector<std::string> texts;
  std::mt19937 random(11);
  const std::vector<std::string> words = {"the", " cat", "'s",  " 日本", " naïve",
                                          "  ",  "\n",   " 42", "!",     " Über"};
  for (int i = 0; i < 200; ++i) {
    std::string text;
    for (int k = 0; k < 50; ++k) text += words[random() % words.size()];
    texts.push_back(text);
  }
  std::vector<Ids> expected;
  for (const std::string& text : texts) expected.push_back(gpt2().encode(text));

  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 5; ++round) {
        for (std::size_t i = 0; i < texts.size(); ++i) failures[t] += gpt2().encode(texts[i]) != expected[i];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures, std::vector<int>(4, 0));
}

TEST(Gpt2Tokenizer, CachesDoNotMixVocabularies) {
  // The same encoder.json with no merges at all: every byte stays a token of its own.
  VocabDir dir;
  dir.copy("encoder.json");
  dir.write("vocab.bpe", "#version: 0.2\n");
  const Gpt2Tokenizer bytes_only = Gpt2Tokenizer::load(dir.path());
  for (int round = 0; round < 2; ++round) {
    EXPECT_EQ(gpt2().encode("hello"), (Ids{31373}));
    EXPECT_EQ(bytes_only.encode("hello"), (Ids{71, 68, 75, 75, 78}));
  }
}

TEST(Gpt2Tokenizer, CopiesAndMovesKeepTheVocabulary) {
  Gpt2Tokenizer loaded = Gpt2Tokenizer::load(Gpt2Tokenizer::default_dir());
  const Gpt2Tokenizer moved = std::move(loaded);
  const Gpt2Tokenizer copied = moved;
  EXPECT_EQ(moved.encode(" Hello"), (Ids{18435}));
  EXPECT_EQ(copied.encode(" Hello"), (Ids{18435}));
  loaded = copied;
  EXPECT_EQ(loaded.encode(" Hello"), (Ids{18435}));
}

TEST(Gpt2Tokenizer, DecodeRejectsIdsOutsideTheVocabulary) {
  EXPECT_THROW(
      {
        try {
          gpt2().decode(Ids{15496, 50257});
        } catch (const mtnlg::Error& e) {
          EXPECT_THAT(e.what(), HasSubstr("id 50257 at position 1 is outside the vocabulary (0 to 50256)"));
          throw;
        }
      },
      mtnlg::Error);
  EXPECT_THROW(gpt2().decode(Ids{-1}), mtnlg::Error);
}

TEST(Gpt2TokenizerLoad, DefaultDirHoldsTheShippedVocabulary) {
  for (const char* name : {"encoder.json", "vocab.bpe", "LICENSE.gpt-3-encoder"}) {
    EXPECT_TRUE(std::filesystem::is_regular_file(Gpt2Tokenizer::default_dir() / name)) << name;
  }
}

TEST(Gpt2TokenizerLoad, MissingEncoderJson) {
  VocabDir dir;
  EXPECT_THAT(load_error(dir.path()), HasSubstr((dir.path() / "encoder.json").string() + ": cannot open"));
}

TEST(Gpt2TokenizerLoad, MissingVocabBpe) {
  VocabDir dir;
  dir.copy("encoder.json");
  EXPECT_THAT(load_error(dir.path()), HasSubstr((dir.path() / "vocab.bpe").string() + ": cannot open"));
}

TEST(Gpt2TokenizerLoad, BadJson) {
  VocabDir dir;
  dir.write("encoder.json", "{\"a\": 0,");
  EXPECT_THAT(load_error(dir.path()), HasSubstr((dir.path() / "encoder.json").string() + ": invalid JSON"));
}

TEST(Gpt2TokenizerLoad, EncoderIdsOutOfRange) {
  VocabDir dir;
  dir.write("encoder.json", "{\"a\": 0, \"b\": 7}");
  EXPECT_THAT(load_error(dir.path()),
              HasSubstr("encoder.json: token 'b' has id 7; the ids of 2 tokens must be 0 to 1"));
}

TEST(Gpt2TokenizerLoad, EncoderMustMapTokensToIntegers) {
  VocabDir dir;
  dir.write("encoder.json", "[0, 1]");
  EXPECT_THAT(load_error(dir.path()),
              HasSubstr("encoder.json: expected a JSON object that maps tokens to ids, not an array"));
  dir.write("encoder.json", "{\"a\": 0, \"b\": \"1\"}");
  EXPECT_THAT(load_error(dir.path()),
              HasSubstr("encoder.json: token 'b' has a string for its id, not an integer"));
}

TEST(Gpt2TokenizerLoad, MergeLineWithoutTwoTokens) {
  VocabDir dir;
  dir.copy("encoder.json");
  dir.write("vocab.bpe", "#version: 0.2\nĠ t\nĠa\n");
  EXPECT_THAT(load_error(dir.path()), HasSubstr((dir.path() / "vocab.bpe").string() +
                                                ":3: expected two tokens separated by a space, got 'Ġa'"));
}

TEST(Gpt2TokenizerLoad, MergeOfUnknownToken) {
  VocabDir dir;
  dir.copy("encoder.json");
  dir.write("vocab.bpe", "#version: 0.2\nĠ t\nĠt wibblewobble\n");
  EXPECT_THAT(load_error(dir.path()),
              HasSubstr((dir.path() / "vocab.bpe").string() +
                        ":3: merge of unknown token 'wibblewobble' (not in encoder.json)"));
}

TEST(Gpt2TokenizerLoad, MergeMakingUnknownToken) {
  VocabDir dir;
  dir.copy("encoder.json");
  dir.write("vocab.bpe", "#version: 0.2\nq z\n");
  EXPECT_THAT(load_error(dir.path()),
              HasSubstr("vocab.bpe:2: merging 'q' and 'z' makes 'qz', which is not in encoder.json"));
}

}  // namespace
}  // namespace mtnlg::tokenizer
