#include "yaml_guard.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <sstream>
#include <vector>

#include "yaml_reader.h"

namespace fwcli {
namespace {

// The expanded size of a node: itself and everything under it, aliases counted as their anchors.
struct Size {
  uint64_t nodes = 0;
  uint64_t bytes = 0;
};

// Walks the parser's events once. Each open collection is a frame that sums its children; a
// closed anchored node records its size, which every alias to it adds again. Nothing is expanded:
// the sizes are numbers, so the walk costs what the text does.
class Checker : public YAML::EventHandler {
 public:
  Checker(const std::string &name, const YamlLimits &limits) : name_(name), limits_(limits) {}

  void OnDocumentStart(const YAML::Mark &) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark &mark, YAML::anchor_t anchor) override {
    leaf(mark, anchor, Size{1, 0}, nullptr);
  }
  void OnScalar(const YAML::Mark &mark, const std::string &, YAML::anchor_t anchor,
                const std::string &value) override {
    leaf(mark, anchor, Size{1, value.size()}, &value);
  }
  void OnAlias(const YAML::Mark &mark, YAML::anchor_t anchor) override {
    if (++aliases_ > limits_.max_aliases)
      fail(mark, "more than " + std::to_string(limits_.max_aliases) + " aliases");
    const Anchor a = anchor < anchors_.size() ? anchors_[anchor] : Anchor();
    // `&a [*a]`: yaml-cpp builds a cycle, which the readers would walk forever.
    if (a.open) fail(mark, "an alias inside the node it refers to (a cycle)");
    leaf(mark, 0, a.size, a.is_scalar ? &a.scalar : nullptr);
  }
  void OnSequenceStart(const YAML::Mark &mark, const std::string &, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor, false);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark &mark, const std::string &, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor, true);
  }
  void OnMapEnd() override { close(); }

 private:
  struct Anchor {
    bool open = false;  // the anchored collection has not ended yet
    Size size;
    bool is_scalar = false;
    std::string scalar;
  };
  struct Frame {
    YAML::Mark mark;
    YAML::anchor_t anchor = 0;
    bool is_map = false;
    bool expect_key = true;  // mappings alternate key, value
    Size size{1, 0};
    std::map<std::string, int> keys;  // key -> line of its first use
  };

  [[noreturn]] void fail(const YAML::Mark &mark, const std::string &what) const {
    throw RecipeError(name_ + ":" + std::to_string(mark.line + 1) + ": [yaml_too_large] " + what +
                      " once YAML aliases are expanded (an alias bomb?); a recipe has at most " +
                      std::to_string(limits_.max_nodes) + " nodes, " +
                      std::to_string(limits_.max_scalar_bytes) + " bytes of scalars, " +
                      std::to_string(limits_.max_aliases) + " aliases and " +
                      std::to_string(limits_.max_depth) + " levels of nesting");
  }

  void record(YAML::anchor_t anchor, const Size &size, const std::string *scalar) {
    if (anchor == 0) return;
    if (anchors_.size() <= anchor) anchors_.resize(anchor + 1);
    anchors_[anchor].open = false;
    anchors_[anchor].size = size;
    anchors_[anchor].is_scalar = scalar != nullptr;
    anchors_[anchor].scalar = scalar ? *scalar : std::string();
  }

  // Counts `size` more expanded nodes and bytes in the document, failing past the limits as soon
  // as they are crossed.
  void count(const YAML::Mark &mark, const Size &size) {
    total_.nodes += size.nodes;
    total_.bytes += size.bytes;
    if (total_.nodes > limits_.max_nodes)
      fail(mark, "more than " + std::to_string(limits_.max_nodes) + " nodes");
    if (total_.bytes > limits_.max_scalar_bytes)
      fail(mark, "more than " + std::to_string(limits_.max_scalar_bytes) + " bytes of scalars");
  }

  // Adds a finished node (its expanded size) to the open collection; `scalar` is its text when it
  // is a scalar (a mapping key to check for repeats).
  void attach(const YAML::Mark &mark, const Size &size, const std::string *scalar) {
    if (stack_.empty()) return;
    Frame &parent = stack_.back();
    parent.size.nodes += size.nodes;
    parent.size.bytes += size.bytes;
    if (!parent.is_map) return;
    if (parent.expect_key && scalar != nullptr) {
      const auto seen = parent.keys.emplace(*scalar, mark.line + 1);
      if (!seen.second)
        throw RecipeError(name_ + ":" + std::to_string(mark.line + 1) + ": duplicate key '" +
                          *scalar + "' (first at line " + std::to_string(seen.first->second) +
                          "; YAML readers disagree on which value counts)");
    }
    parent.expect_key = !parent.expect_key;
  }

  void leaf(const YAML::Mark &mark, YAML::anchor_t anchor, const Size &size,
            const std::string *scalar) {
    count(mark, size);
    attach(mark, size, scalar);
    record(anchor, size, scalar);
  }

  void open(const YAML::Mark &mark, YAML::anchor_t anchor, bool is_map) {
    if (stack_.size() >= limits_.max_depth)
      fail(mark, "more than " + std::to_string(limits_.max_depth) + " levels of nesting");
    Frame f;
    f.mark = mark;
    f.anchor = anchor;
    f.is_map = is_map;
    stack_.push_back(std::move(f));
    if (anchor != 0) {
      if (anchors_.size() <= anchor) anchors_.resize(anchor + 1);
      anchors_[anchor].open = true;
    }
  }

  void close() {
    Frame f = std::move(stack_.back());
    stack_.pop_back();
    // Its children were counted as they ended; the collection itself counts one node.
    count(f.mark, Size{1, 0});
    attach(f.mark, f.size, nullptr);
    record(f.anchor, f.size, nullptr);
  }

  const std::string &name_;
  const YamlLimits &limits_;
  std::vector<Frame> stack_;
  std::vector<Anchor> anchors_;  // by yaml-cpp's anchor number
  Size total_;
  uint64_t aliases_ = 0;
};

}  // namespace

void check_yaml(const std::string &text, const std::string &name, const YamlLimits &limits) {
  std::istringstream in(text);
  try {
    YAML::Parser parser(in);
    Checker checker(name, limits);
    if (!parser.HandleNextDocument(checker)) return;  // empty: the reader says what is missing
    // A second document would be ignored by YAML::Load; say so instead. Its events are not
    // needed: a null handler stops at its first node.
    struct Skip : YAML::EventHandler {
      int line = -1;
      void OnDocumentStart(const YAML::Mark &mark) override {
        if (line < 0) line = mark.line;
      }
      void OnDocumentEnd() override {}
      void OnNull(const YAML::Mark &, YAML::anchor_t) override {}
      void OnAlias(const YAML::Mark &, YAML::anchor_t) override {}
      void OnScalar(const YAML::Mark &, const std::string &, YAML::anchor_t,
                    const std::string &) override {}
      void OnSequenceStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                           YAML::EmitterStyle::value) override {}
      void OnSequenceEnd() override {}
      void OnMapStart(const YAML::Mark &, const std::string &, YAML::anchor_t,
                      YAML::EmitterStyle::value) override {}
      void OnMapEnd() override {}
    } rest;
    if (parser.HandleNextDocument(rest))
      throw RecipeError(name + ":" + std::to_string(rest.line + 1) +
                        ": a recipe is one YAML document; a second one starts here");
  } catch (const YAML::ParserException &e) {
    throw RecipeError(name + ":" + std::to_string(e.mark.line + 1) + ": not valid YAML: " + e.msg);
  }
}

}  // namespace fwcli
