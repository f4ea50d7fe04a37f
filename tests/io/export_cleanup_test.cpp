// Garbage left by earlier exports: stale temp files of our own naming (an export killed before its
// rename) are removed by the next export of the same names, and a sharded re-export leaves exactly
// the new shard set. Nothing that does not match our exact naming is ever touched.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "capi/status_map.h"
#include "fwmerge.h"
#include "io/checkpoint.h"
#include "io/hf_folder.h"
#include "io/safetensors_reader.h"
#include "io/safetensors_writer.h"
#include "io_test_util.h"
#include "test_support.h"

namespace {

using fw::DType;
using fw::OutTensor;
using fwtest::list_dir;
using Names = std::set<std::string>;

const std::string kIndex = "model.safetensors.index.json";

std::vector<uint8_t> filler(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed * 31 + i * 7);
  return out;
}

void write_filler(const std::string &path, size_t n) { fwtest::write_bytes(path, filler(n, 9)); }

// Six 100-byte U8 tensors t0..t5: limits 200 / 300 / 1000 give 3 / 2 / 1 shards.
struct Six {
  std::vector<std::vector<uint8_t>> bytes;
  Six() {
    for (uint8_t i = 0; i < 6; ++i) bytes.push_back(filler(100, i + 1));
  }
  std::vector<OutTensor> tensors() const {
    std::vector<OutTensor> out;
    for (size_t i = 0; i < bytes.size(); ++i) {
      out.push_back({"t" + std::to_string(i), DType::U8, {100}, bytes[i].data(), 100});
    }
    return out;
  }
};

Names shard_set(size_t count) {
  Names names;
  char buf[64];
  for (size_t i = 1; i <= count; ++i) {
    std::snprintf(buf, sizeof(buf), "model-%05zu-of-%05zu.safetensors", i, count);
    names.insert(buf);
  }
  return names;
}

Names with(Names a, const Names &b) {
  a.insert(b.begin(), b.end());
  return a;
}

std::vector<uint8_t> read_all(const fw::SafetensorsFile &file, const fw::TensorEntry &entry) {
  std::vector<uint8_t> out(entry.nbytes);
  file.read_bytes(entry, 0, entry.nbytes, out.data());
  return out;
}

// Every shard the index names exists and holds exactly the tensors' bytes; the folder opens as a
// checkpoint with all tensors.
void expect_index_consistent(const std::string &dir, const std::vector<OutTensor> &tensors) {
  const std::vector<uint8_t> text = fwtest::read_bytes(dir + "/" + kIndex);
  const nlohmann::json index = nlohmann::json::parse(text.begin(), text.end());
  const auto &weight_map = index.at("weight_map");
  ASSERT_EQ(weight_map.size(), tensors.size());
  for (const OutTensor &t : tensors) {
    SCOPED_TRACE(t.name);
    const std::string shard = weight_map.at(t.name).get<std::string>();
    ASSERT_TRUE(iotest::file_exists(dir + "/" + shard)) << shard;
    auto file = fw::SafetensorsFile::open(dir + "/" + shard);
    const fw::TensorEntry *e = file->find(t.name);
    ASSERT_NE(e, nullptr);
    ASSERT_EQ(e->nbytes, t.nbytes);
    EXPECT_EQ(read_all(*file, *e),
              std::vector<uint8_t>(static_cast<const uint8_t *>(t.data),
                                   static_cast<const uint8_t *>(t.data) + t.nbytes));
  }
  EXPECT_EQ(fw::open_checkpoint(dir, nullptr)->tensors().size(), tensors.size());
}

// Each file of `dir` that is in `names` equals the same file of a fresh export into `fresh`.
void expect_same_files(const std::string &dir, const std::string &fresh, const Names &names) {
  for (const std::string &name : names) {
    EXPECT_EQ(fwtest::read_bytes(dir + "/" + name), fwtest::read_bytes(fresh + "/" + name)) << name;
  }
}

// Files next to the export that only look like ours; none may ever be removed.
const Names kLookAlikes = {
    ".model.safetensors.tmp-ab",             // suffix not 6 characters
    ".model.safetensors.tmp-abcdefg",        // 7 characters
    ".model.safetensors.tmp-ab_c12",         // not mkstemp's alphabet
    "model.safetensors.tmp-abcdef",          // not hidden
    ".other.tmp-abcdef",                     // another target
    ".model.safetensors.tmp.abcdef",         // not "-"
    ".model-1-of-2.safetensors.tmp-abcdef",  // not our shard naming
    ".model-00001-of-00002.bin.tmp-abcdef",
    ".pytorch_model.bin.tmp-abcdef",
    "notes.txt",
};

void place(const std::string &dir, const Names &names) {
  for (const std::string &name : names) write_filler(dir + "/" + name, 300);
}

// ---- stale temp files ---------------------------------------------------------------------

TEST(ExportCleanup, SingleFileExportRemovesItsStaleTemps) {
  const std::string dir = fwtest::temp_dir("cleanup");
  place(dir, kLookAlikes);
  write_filler(dir + "/.model.safetensors.tmp-AbC123", 300);
  write_filler(dir + "/.model.safetensors.tmp-000000", 500);
  // Temps of other targets are not this export's garbage.
  write_filler(dir + "/.model-00001-of-00002.safetensors.tmp-x1y2z3", 300);
  write_filler(dir + "/.other.safetensors.tmp-abcdef", 300);
  // A directory named like a temp is not something TempFile made.
  ASSERT_EQ(::mkdir((dir + "/.model.safetensors.tmp-dirdir").c_str(), 0755), 0);

  Six six;
  fw::write_safetensors(dir + "/model.safetensors", six.tensors(), {});
  EXPECT_EQ(list_dir(dir),
            with(kLookAlikes, {"model.safetensors", ".model-00001-of-00002.safetensors.tmp-x1y2z3",
                               ".other.safetensors.tmp-abcdef", ".model.safetensors.tmp-dirdir"}));
  EXPECT_EQ(fw::SafetensorsFile::open(dir + "/model.safetensors")->tensors().size(), 6u);
  for (const std::string &name : kLookAlikes) {
    EXPECT_EQ(fwtest::read_bytes(dir + "/" + name), filler(300, 9)) << name;
  }
}

TEST(ExportCleanup, ShardedExportRemovesItsStaleTemps) {
  const std::string dir = fwtest::temp_dir("cleanup");
  place(dir, kLookAlikes);
  // Temps of any shard set (not only the one written now) and of the index are ours.
  const Names stale = {".model-00001-of-00002.safetensors.tmp-x1y2z3",
                       ".model-00007-of-00009.safetensors.tmp-QWERTY",
                       ".model.safetensors.index.json.tmp-a1B2c3"};
  place(dir, stale);
  // The single-file name is not written by a sharded export.
  write_filler(dir + "/.model.safetensors.tmp-AbC123", 300);

  Six six;
  fw::write_sharded(dir, six.tensors(), {}, 200);
  EXPECT_EQ(list_dir(dir),
            with(with(kLookAlikes, shard_set(3)), {kIndex, ".model.safetensors.tmp-AbC123"}));
  expect_index_consistent(dir, six.tensors());
}

TEST(ExportCleanup, CleanupDoesNotFollowTheTargetOutsideItsFolder) {
  // The temp pattern is matched in the target's own folder only, not in its parent or children.
  const std::string root = fwtest::temp_dir("cleanup");
  ASSERT_EQ(::mkdir((root + "/sub").c_str(), 0755), 0);
  write_filler(root + "/.model.safetensors.tmp-AbC123", 300);
  write_filler(root + "/sub/.model.safetensors.tmp-AbC123", 300);
  Six six;
  fw::write_safetensors(root + "/sub/model.safetensors", six.tensors(), {});
  EXPECT_EQ(list_dir(root), (Names{"sub", ".model.safetensors.tmp-AbC123"}));
  EXPECT_EQ(list_dir(root + "/sub"), (Names{"model.safetensors"}));
}

// ---- crashes mid-export -------------------------------------------------------------------

// Runs `write` in a child process that the kernel kills (SIGXFSZ) once a file grows past `limit`
// bytes: a real crash in the middle of our writer, with no destructor or handler running.
void crash_mid_write(const std::function<void()> &write, rlim_t limit) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0) << std::strerror(errno);
  if (pid == 0) {
    struct rlimit no_core = {0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::signal(SIGXFSZ, SIG_DFL);
    struct rlimit fsize;
    ::getrlimit(RLIMIT_FSIZE, &fsize);
    fsize.rlim_cur = limit;
    ::setrlimit(RLIMIT_FSIZE, &fsize);
    try {
      write();
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(3);  // not killed: the test's premise failed
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGXFSZ);
}

uint64_t file_size(const std::string &path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

TEST(ExportCleanup, CrashedSingleFileExportIsCleanedUpByTheNextExport) {
  const std::string dir = fwtest::temp_dir("crash");
  const std::string path = dir + "/model.safetensors";
  const std::vector<uint8_t> big(1 << 20, 0x5A);
  const std::vector<OutTensor> tensors = {{"big", DType::U8, {1 << 20}, big.data(), big.size()}};
  crash_mid_write([&] { fw::write_safetensors(path, tensors, {}); }, 64 * 1024);

  // The killed writer left its temp file behind: hidden, our naming, partially written.
  const Names left = list_dir(dir);
  ASSERT_EQ(left.size(), 1u);
  const std::string temp = *left.begin();
  EXPECT_EQ(temp.rfind(".model.safetensors.tmp-", 0), 0u) << temp;
  EXPECT_EQ(temp.size(), std::string(".model.safetensors.tmp-XXXXXX").size()) << temp;
  EXPECT_EQ(file_size(dir + "/" + temp), 64u * 1024u);

  fw::write_safetensors(path, tensors, {});
  EXPECT_EQ(list_dir(dir), Names{"model.safetensors"});
  auto file = fw::SafetensorsFile::open(path);
  ASSERT_NE(file->find("big"), nullptr);
  EXPECT_EQ(read_all(*file, *file->find("big")), big);
}

// ---- Hugging Face folder outputs: `.OUT.tmp-XXXXXX/` folders ----------------------------------

fw::OutputLayout hf_layout() {
  fw::OutputLayout layout;
  layout.hf_folder = true;
  layout.card_given = true;
  layout.model_card = "card";
  return layout;
}

void write_hf(const std::string &target, const std::vector<OutTensor> &tensors) {
  const fw::TensorProducer from_data = [&tensors](size_t t, const fw::ByteEmitter &emit) {
    emit(tensors[t].data, tensors[t].nbytes);
  };
  fw::write_output(target, tensors, {}, from_data, fw::Poll(), hf_layout(),
                   [] { return std::string("card"); });
}

// A run killed while writing its folder (SIGKILL, the OOM killer) leaves `.OUT.tmp-XXXXXX/` with
// partial weights; the next run into the same parent, whatever its target, removes it.
TEST(ExportCleanup, CrashedHfFolderExportIsCleanedUpByTheNextRunIntoTheParent) {
  const std::string dir = fwtest::temp_dir("crash_hf");
  const std::vector<uint8_t> big(1 << 20, 0x5A);
  const std::vector<OutTensor> tensors = {{"big", DType::U8, {1 << 20}, big.data(), big.size()}};
  crash_mid_write([&] { write_hf(dir + "/out1", tensors); }, 64 * 1024);
  const Names first = list_dir(dir);
  ASSERT_EQ(first.size(), 1u);
  const std::string temp = *first.begin();
  EXPECT_EQ(temp.rfind(".out1.tmp-", 0), 0u) << temp;
  const Names inside = list_dir(dir + "/" + temp);  // the partial weights
  ASSERT_EQ(inside.size(), 1u);
  EXPECT_EQ(inside.begin()->rfind(".model.safetensors.tmp-", 0), 0u) << *inside.begin();
  // Killed again: the second run removed the first one's folder before leaving its own.
  crash_mid_write([&] { write_hf(dir + "/out1", tensors); }, 64 * 1024);
  const Names second = list_dir(dir);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_NE(*second.begin(), temp);
  // Look-alikes that are not our temp folders, and a live writer's folder, are kept.
  ASSERT_EQ(::mkdir((dir + "/.out1.tmp-abcdefg").c_str(), 0755), 0);  // 7 characters
  ASSERT_EQ(::mkdir((dir + "/.live.tmp-abc123").c_str(), 0755), 0);
  write_filler(dir + "/.file.tmp-abc123", 10);  // a file: the file writer's, for its own target
  const int live = ::open((dir + "/.live.tmp-abc123").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(live, 0);
  ASSERT_EQ(::flock(live, LOCK_EX), 0);

  write_hf(dir + "/out2", tensors);
  EXPECT_EQ(list_dir(dir),
            (Names{"out2", ".out1.tmp-abcdefg", ".live.tmp-abc123", ".file.tmp-abc123"}));
  EXPECT_EQ(list_dir(dir + "/out2"), (Names{"model.safetensors", "README.md"}));
  ::close(live);  // its writer "dies": the next run takes it
  write_hf(dir + "/out3", tensors);
  EXPECT_EQ(list_dir(dir), (Names{"out2", "out3", ".out1.tmp-abcdefg", ".file.tmp-abc123"}));
}

TEST(ExportCleanup, CrashedShardedExportIsCleanedUpByTheNextExport) {
  // Shards of 8, 64 and 8 KiB and a 32 KiB file size limit: the writer dies in the second shard,
  // leaving a finished temp of shard 1 and a partial one of shard 2 next to an older export.
  const std::string dir = fwtest::temp_dir("crash");
  const std::vector<size_t> sizes = {8 * 1024, 64 * 1024, 8 * 1024};
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<OutTensor> tensors;
  for (size_t i = 0; i < sizes.size(); ++i) bytes.push_back(filler(sizes[i], uint8_t(i)));
  for (size_t i = 0; i < sizes.size(); ++i) {
    tensors.push_back(
        {"w" + std::to_string(i), DType::U8, {int64_t(sizes[i])}, bytes[i].data(), sizes[i]});
  }
  Six six;
  fw::write_sharded(dir, six.tensors(), {}, 300);
  write_filler(dir + "/config.json", 50);
  const Names before = list_dir(dir);
  ASSERT_EQ(before, with(shard_set(2), {kIndex, "config.json"}));

  crash_mid_write([&] { fw::write_sharded(dir, tensors, {}, 64 * 1024); }, 32 * 1024);
  const Names after_crash = list_dir(dir);
  EXPECT_EQ(after_crash.size(), before.size() + 2);
  for (const std::string &name : after_crash) {
    if (before.count(name)) continue;
    EXPECT_EQ(name.rfind(".model-0000", 0), 0u) << name;
    EXPECT_NE(name.find("-of-00003.safetensors.tmp-"), std::string::npos) << name;
  }
  // The crash did not damage the committed export.
  expect_index_consistent(dir, six.tensors());

  fw::write_sharded(dir, tensors, {}, 64 * 1024);
  EXPECT_EQ(list_dir(dir), with(shard_set(3), {kIndex, "config.json"}));
  expect_index_consistent(dir, tensors);
}

// ---- sharded re-export ---------------------------------------------------------------------

// Files a Hugging Face folder holds besides the weights, and names close to our shard naming.
const Names kUnrelated = {
    "config.json",
    "tokenizer.json",
    "README.md",
    "model.safetensors",
    "model-00001-of-00003.safetensors.bak",
    "model-1-of-3.safetensors",
    "model-000001-of-00003.safetensors",
    "my-model-00001-of-00003.safetensors",
    "pytorch_model-00001-of-00003.bin",
    "model-00001-of-00003.bin",
    "model-00004-of-00003.safetensors",
};

TEST(ExportCleanup, ShardedReExportLeavesExactlyTheNewShards) {
  const std::string dir = fwtest::temp_dir("reshard");
  place(dir, kUnrelated);
  Six six;
  fw::write_sharded(dir, six.tensors(), {{"format", "pt"}}, 200);
  ASSERT_EQ(list_dir(dir), with(with(kUnrelated, shard_set(3)), {kIndex}));

  for (uint64_t limit : {300u, 1000u, 200u, 200u}) {  // 3 -> 2 -> 1 -> 3 -> 3 shards
    SCOPED_TRACE("max_shard_bytes " + std::to_string(limit));
    fw::write_sharded(dir, six.tensors(), {{"format", "pt"}}, limit);
    const size_t count = limit == 300 ? 2 : limit == 1000 ? 1 : 3;
    EXPECT_EQ(list_dir(dir), with(with(kUnrelated, shard_set(count)), {kIndex}));
    expect_index_consistent(dir, six.tensors());

    const std::string fresh = fwtest::temp_dir("fresh");
    fw::write_sharded(fresh, six.tensors(), {{"format", "pt"}}, limit);
    expect_same_files(dir, fresh, with(shard_set(count), {kIndex}));
  }
  for (const std::string &name : kUnrelated) {
    EXPECT_EQ(fwtest::read_bytes(dir + "/" + name), filler(300, 9)) << name;
  }
}

TEST(ExportCleanup, FailedReExportKeepsTheOldCheckpoint) {
  // The new export fails while writing (RLIMIT_FSIZE): old shards and index stay, byte for byte,
  // because old shards are only removed after the new index is committed.
  const std::string dir = fwtest::temp_dir("reshard");
  Six six;
  fw::write_sharded(dir, six.tensors(), {}, 200);
  std::map<std::string, std::vector<uint8_t>> old;
  for (const std::string &name : list_dir(dir)) old[name] = fwtest::read_bytes(dir + "/" + name);

  const std::vector<uint8_t> big(200000, 3);
  bool threw = false;
  {
    const iotest::FileSizeLimit limit(100000);
    try {
      fw::write_sharded(dir, {{"big", DType::U8, {200000}, big.data(), big.size()}}, {}, 1000000);
    } catch (const fw::Error &e) {
      threw = fw::capi::to_public(e.code()) == FW_ERR_IO;
    }
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(list_dir(dir), with(shard_set(3), {kIndex}));
  for (const auto &kv : old) EXPECT_EQ(fwtest::read_bytes(dir + "/" + kv.first), kv.second);
}

TEST(ExportCleanup, OldShardThatCannotBeRemovedIsReportedAfterTheCommit) {
  // "Shard 3 of 3" is a non-empty directory: unlink fails (EISDIR). The new export is committed
  // and readable, the other old shards are gone, and the error names the leftover.
  const std::string dir = fwtest::temp_dir("reshard");
  Six six;
  fw::write_sharded(dir, six.tensors(), {}, 200);
  const std::string stuck = "model-00003-of-00003.safetensors";
  ASSERT_EQ(::unlink((dir + "/" + stuck).c_str()), 0);
  ASSERT_EQ(::mkdir((dir + "/" + stuck).c_str(), 0755), 0);
  write_filler(dir + "/" + stuck + "/keep", 10);

  bool threw = false;
  try {
    fw::write_sharded(dir, six.tensors(), {}, 300);
  } catch (const fw::Error &e) {
    threw = true;
    const std::string message = e.what();
    EXPECT_EQ(fw::capi::to_public(e.code()), FW_ERR_IO) << message;
    EXPECT_NE(message.find(stuck), std::string::npos) << message;
    EXPECT_NE(message.find("committed"), std::string::npos) << message;
  }
  EXPECT_TRUE(threw);
  EXPECT_EQ(list_dir(dir), with(shard_set(2), {kIndex, stuck}));
  EXPECT_EQ(list_dir(dir + "/" + stuck), Names{"keep"});
  expect_index_consistent(dir, six.tensors());
}

// ---- through the C API ---------------------------------------------------------------------

struct SolverDeleter {
  void operator()(fw_solver *s) const { fw_solver_free(s); }
};

TEST(ExportCleanupCApi, FwExportCleansStaleTempsAndOldShards) {
  // Base a (2x3 F32, 24 bytes), b (4 F32, 16), c (scalar, 4); theta starts at the base.
  const std::string pool = fwtest::temp_dir("capi_cleanup");
  using T = fwtest::TestTensor;
  const std::vector<T> base = {T{"a", {2, 3}, {1, -2, 3, 0.5f, 0.25f, -1}},
                               T{"b", {4}, {2, 0, -3, 1}}, T{"c", {}, {4}}};
  fwtest::write_safetensors(pool + "/base.safetensors", base);
  fwtest::write_safetensors(pool + "/member.safetensors", base);
  fw_solver *raw = nullptr;
  ASSERT_EQ(fw_solver_new(nullptr, &raw), FW_OK) << fw_last_error();
  std::unique_ptr<fw_solver, SolverDeleter> solver(raw);
  ASSERT_EQ(fw_solver_set_base(solver.get(), (pool + "/base.safetensors").c_str()), FW_OK)
      << fw_last_error();
  ASSERT_EQ(fw_solver_pool_add(solver.get(), (pool + "/member.safetensors").c_str(), nullptr),
            FW_OK)
      << fw_last_error();

  const std::string dir = pool + "/out";
  fw_export_options o = fw_default_export_options();
  o.max_shard_bytes = 8;  // every tensor alone: 3 shards
  ASSERT_EQ(fw_solver_export(solver.get(), dir.c_str(), &o), FW_OK) << fw_last_error();
  ASSERT_EQ(list_dir(dir), with(shard_set(3), {kIndex}));

  write_filler(dir + "/config.json", 40);
  write_filler(dir + "/.model-00002-of-00003.safetensors.tmp-Zz9Zz9", 300);
  write_filler(dir + "/.model.safetensors.index.json.tmp-000aaa", 300);
  o.max_shard_bytes = 24;  // [a], [b, c]
  ASSERT_EQ(fw_solver_export(solver.get(), dir.c_str(), &o), FW_OK) << fw_last_error();
  EXPECT_EQ(list_dir(dir), with(shard_set(2), {kIndex, "config.json"}));

  auto ckpt = fw::open_checkpoint(dir, nullptr);
  ASSERT_EQ(ckpt->tensors().size(), 3u);
  for (const T &t : base) {
    const at::Tensor x = ckpt->load_f32(t.name);
    ASSERT_EQ(static_cast<size_t>(x.numel()), t.values.size()) << t.name;
    for (size_t i = 0; i < t.values.size(); ++i) {
      EXPECT_EQ(x.data_ptr<float>()[i], t.values[i]) << t.name;
    }
  }

  // A single-file export cleans its own stale temp in the same way.
  const std::string file = pool + "/merged.safetensors";
  write_filler(pool + "/.merged.safetensors.tmp-q1W2e3", 300);
  ASSERT_EQ(fw_solver_export(solver.get(), file.c_str(), nullptr), FW_OK) << fw_last_error();
  EXPECT_FALSE(iotest::file_exists(pool + "/.merged.safetensors.tmp-q1W2e3"));
  EXPECT_TRUE(iotest::file_exists(file));
}

}  // namespace
