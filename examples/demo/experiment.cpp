#include "experiment.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>

#include "methods.h"
#include "tasks.h"

namespace demo {
namespace {

std::string pct(double v) {
  char text[16];
  std::snprintf(text, sizeof text, "%.1f", 100 * v);
  return text;
}

std::vector<int> range(int begin, int end) {
  std::vector<int> out;
  for (int i = begin; i < end; ++i) out.push_back(i);
  return out;
}

struct Plan {
  std::string experiment, method;
  int x, pool_size;
  std::vector<int> pool, eval;
  std::string export_path;
};

std::vector<Plan> make_plans(const Options &opt) {
  std::vector<Plan> plans;
  const bool all = opt.experiment == "all";
  const auto methods_or = [&](std::vector<std::string> defaults) {
    return opt.methods.empty() ? defaults : opt.methods;
  };
  const std::vector<int> eval = range(0, kNumEvalTasks);
  if (all || opt.experiment == "irrelevant") {
    // Table 3 (top): 4 relevant models + 0, 2, ..., 16 irrelevant ones, evaluated on the 4 tasks
    const std::vector<std::string> methods =
        opt.quick ? methods_or({"task_arithmetic", "fw_soft_task"})
                  : methods_or({"pretrained", "average", "task_arithmetic", "ties", "dare_ties",
                                "adamerging", "fw_hard_layer", "fw_soft_task", "fw_soft_layer",
                                "fw_soft_task_summed", "fw_soft_task_capped"});
    const std::vector<int> extra = {0, 4, 8, 12, 16};
    for (int k : extra)
      for (const std::string &m : methods) {
        Plan p{"irrelevant", m, k, kNumEvalTasks + k, range(0, kNumEvalTasks + k), eval, ""};
        if (k == extra.back() && m.rfind("fw_soft", 0) == 0)
          p.export_path =
              opt.out_dir + "/merged_" + m + "_n" + std::to_string(p.pool_size) + ".safetensors";
        plans.push_back(p);
      }
  }
  if (!opt.quick && (all || opt.experiment == "relevant")) {
    // Table 3 (bottom): evaluation on all 20 tasks while their models join the pool
    const std::vector<std::string> methods = methods_or(
        {"task_arithmetic", "ties", "adamerging", "fw_soft_task", "fw_soft_task_summed"});
    const int total = int(all_tasks().size());
    for (int m_count = 4; m_count <= total; m_count += 4)
      for (const std::string &m : methods)
        plans.push_back(
            Plan{"relevant", m, m_count, m_count, range(0, m_count), range(0, total), ""});
  }
  if (!opt.quick && (all || opt.experiment == "ablation")) {
    // Table 5: hard vs soft, task- vs layer-wise, optimized vs equal soft coefficients
    const std::vector<std::string> methods =
        methods_or({"fw_hard_task", "fw_hard_layer", "fw_soft_task", "fw_soft_layer",
                    "fw_soft_task_unopt", "fw_soft_layer_unopt", "fw_soft_task_summed",
                    "fw_soft_layer_summed", "fw_soft_task_capped", "fw_soft_layer_capped",
                    "fw_soft_task_simplex", "fw_soft_layer_simplex"});
    const int n = int(all_tasks().size());
    for (const std::string &m : methods)
      plans.push_back(Plan{"ablation", m, 0, n, range(0, n), eval, ""});
  }
  return plans;
}

void write_csv_header(std::ofstream &out) {
  out << "experiment,method,x,pool_size,mean_acc,task_accs,evaluations,merge_wall_s,child_wall_s,"
         "peak_rss_mb\n";
}

void write_csv_row(std::ofstream &out, const Row &r) {
  out << r.experiment << ',' << r.method << ',' << r.x << ',' << r.pool_size << ','
      << r.result.mean_acc << ',';
  for (size_t i = 0; i < r.result.acc.size(); ++i) out << (i ? ";" : "") << r.result.acc[i];
  out << ',' << r.result.evaluations << ',' << r.result.merge_wall_s << ',' << r.result.child_wall_s
      << ',' << double(r.result.peak_rss_bytes) / (1 << 20) << '\n';
  out.flush();
}

// Normalized accuracy of a run over its evaluation tasks, (merged - pre-trained) / (fine-tuned -
// pre-trained) on the tasks' mean accuracies (a ratio of means: a task that fine-tuning hardly
// improves cannot blow it up).
double normalized(const Row &r, const TaskEnds &ends) {
  double pre = 0, ft = 0;
  for (int t : r.eval) {
    pre += ends.pretrained.at(size_t(t));
    ft += ends.finetuned.at(size_t(t));
  }
  pre /= double(r.eval.size());
  ft /= double(r.eval.size());
  return ft > pre ? (r.result.mean_acc - pre) / (ft - pre) : 0.0;
}

// Per evaluation task at one x: accuracy and normalized accuracy of each method, with the
// pre-trained and fine-tuned ends (the per-task report).
std::string per_task_markdown(const std::vector<Row> &rows, const std::string &experiment, int x,
                              const TaskEnds &ends) {
  std::vector<const Row *> at_x;
  for (const Row &r : rows)
    if (r.experiment == experiment && r.x == x) at_x.push_back(&r);
  if (at_x.empty()) return "";
  const std::vector<int> &eval = at_x.front()->eval;
  std::string out = "| method |";
  for (int t : eval) out += " " + all_tasks().at(size_t(t)).name + " |";
  out += " mean | normalized |\n|---|";
  for (size_t i = 0; i < eval.size() + 2; ++i) out += "---:|";
  out += "\n";
  const auto row_text = [&](const std::string &name, const std::vector<double> &accs) {
    std::string line = "| " + name + " |";
    double mean = 0;
    for (double a : accs) {
      line += " " + pct(a) + " |";
      mean += a / double(accs.size());
    }
    return line + " " + pct(mean) + " |";
  };
  std::vector<double> pre, ft;
  for (int t : eval) {
    pre.push_back(ends.pretrained.at(size_t(t)));
    ft.push_back(ends.finetuned.at(size_t(t)));
  }
  out += row_text("pre-trained backbone", pre) + " 0.00 |\n";
  out += row_text("fine-tuned backbones (each on its task)", ft) + " 1.00 |\n";
  for (const Row *r : at_x) {
    if (r->method == "pretrained") continue;
    char norm[16];
    std::snprintf(norm, sizeof norm, " %.2f |", normalized(*r, ends));
    out += row_text(r->method, r->result.acc) + norm + "\n";
  }
  return out;
}

// One Markdown table per experiment: methods x (x values), a cell per run.
std::string markdown(const std::vector<Row> &rows, const std::string &experiment,
                     const std::string &x_label, const std::string &value,
                     const TaskEnds &ends = {}) {
  std::vector<std::string> methods;
  std::set<int> xs;
  std::map<std::pair<std::string, int>, const Row *> cell;
  for (const Row &r : rows) {
    if (r.experiment != experiment) continue;
    if (std::find(methods.begin(), methods.end(), r.method) == methods.end())
      methods.push_back(r.method);
    xs.insert(r.x);
    cell[{r.method, r.x}] = &r;
  }
  if (methods.empty()) return "";
  std::string out = "| method |";
  for (int x : xs) out += " " + x_label + "=" + std::to_string(x) + " |";
  out += "\n|---|";
  for (size_t i = 0; i < xs.size(); ++i) out += "---:|";
  out += "\n";
  for (const std::string &m : methods) {
    out += "| " + m + " |";
    for (int x : xs) {
      const auto it = cell.find({m, x});
      if (it == cell.end()) {
        out += " |";
        continue;
      }
      const RunResult &r = it->second->result;
      char text[64];
      if (value == "acc")
        std::snprintf(text, sizeof text, " %s |", pct(r.mean_acc).c_str());
      else if (value == "norm")
        std::snprintf(text, sizeof text, " %.2f |", normalized(*it->second, ends));
      else
        std::snprintf(text, sizeof text, " %.0f MB / %.1f s |",
                      double(r.peak_rss_bytes) / (1 << 20), r.merge_wall_s);
      out += text;
    }
    out += "\n";
  }
  return out;
}

void plot(const std::vector<Row> &rows, const std::string &experiment, const std::string &dir,
          const std::string &name, const std::string &xlabel, bool rss) {
  std::vector<std::string> methods;
  for (const Row &r : rows)
    if (r.experiment == experiment &&
        std::find(methods.begin(), methods.end(), r.method) == methods.end())
      methods.push_back(r.method);
  if (methods.empty()) return;
  const std::string data = dir + "/" + name + ".dat";
  std::ofstream out(data);
  for (const std::string &m : methods) {
    out << "\"" << m << "\"\n";
    for (const Row &r : rows)
      if (r.experiment == experiment && r.method == m)
        out << r.x << ' '
            << (rss ? double(r.result.peak_rss_bytes) / (1 << 20) : 100 * r.result.mean_acc)
            << '\n';
    out << "\n\n";
  }
  out.close();
  const std::string script = dir + "/" + name + ".gp";
  std::ofstream gp(script);
  gp << "set terminal pngcairo size 800,500 noenhanced\n"
     << "set output '" << dir << "/" << name << ".png'\n"
     << "set key outside right\nset grid\n"
     << "set xlabel '" << xlabel << "'\n"
     << "set ylabel '" << (rss ? "peak RSS (MB)" : "mean test accuracy (%)") << "'\n"
     << "plot for [i=0:" << methods.size() - 1 << "] '" << data
     << "' index i using 1:2 with linespoints lw 2 title columnheader(1)\n";
  gp.close();
  // pngcairo is in gnuplot-nox; fall back to the libgd png terminal where it is missing
  std::string cmd = "gnuplot '" + script + "' 2>/dev/null";
  if (std::system(cmd.c_str()) != 0) {
    std::string text;
    {
      std::ifstream in(script);
      text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    text.replace(text.find("pngcairo"), 8, "png");
    std::ofstream(script) << text;
    if (std::system(cmd.c_str()) != 0)
      std::fprintf(stderr, "warning: gnuplot failed for %s (is gnuplot installed?)\n",
                   script.c_str());
  }
}

}  // namespace

std::vector<std::string> common_args(const Options &opt) {
  std::vector<std::string> a = {"--threads",     std::to_string(opt.threads),
                                "--fw-iters",    std::to_string(opt.fw_iters),
                                "--soft-iters",  std::to_string(opt.soft_iters),
                                "--top-k",       std::to_string(opt.top_k),
                                "--soft-solver", opt.soft_solver,
                                "--soft-lr",     std::to_string(opt.soft_lr),
                                "--out",         opt.out_dir};
  if (!opt.cache_root.empty()) {
    a.push_back("--cache");
    a.push_back(opt.cache_root);
  }
  return a;
}

std::vector<Row> run_experiments(const Options &opt, const TaskEnds &ends) {
  const std::vector<Plan> plans = make_plans(opt);
  const std::string work = opt.out_dir + "/tmp";
  ::mkdir(opt.out_dir.c_str(), 0755);
  ::mkdir(work.c_str(), 0755);
  std::ofstream csv(opt.out_dir + "/results.csv");
  write_csv_header(csv);
  std::vector<Row> rows;
  for (size_t i = 0; i < plans.size(); ++i) {
    const Plan &p = plans[i];
    std::fprintf(stderr, "[%zu/%zu] %s: %s, pool %d\n", i + 1, plans.size(), p.experiment.c_str(),
                 p.method.c_str(), p.pool_size);
    RunRequest req{p.method, p.pool, p.eval, p.export_path, common_args(opt)};
    Row row{p.experiment, p.method, p.x, p.pool_size, p.eval, run_in_child(req, work)};
    std::fprintf(stderr, "    mean accuracy %s%%, %d evaluations, %.1f s, peak RSS %.0f MB\n",
                 pct(row.result.mean_acc).c_str(), row.result.evaluations, row.result.merge_wall_s,
                 double(row.result.peak_rss_bytes) / (1 << 20));
    write_csv_row(csv, row);
    rows.push_back(row);
  }
  std::string md;
  const auto section = [&](const std::string &title, const std::string &exp, const std::string &x,
                           const std::string &xlabel) {
    const std::string acc = markdown(rows, exp, x, "acc");
    if (acc.empty()) return;
    md += "### " + title + ": mean test accuracy (%)\n\n" + acc + "\n";
    md += "### " + title +
          ": normalized accuracy, (merged - pre-trained) / (fine-tuned - pre-trained)\n\n" +
          markdown(rows, exp, x, "norm", ends) + "\n";
    md +=
        "### " + title + ": peak RSS / merge wall time\n\n" + markdown(rows, exp, x, "rss") + "\n";
    plot(rows, exp, opt.out_dir, exp + "_accuracy", xlabel, false);
    plot(rows, exp, opt.out_dir, exp + "_rss", xlabel, true);
  };
  section("Irrelevant models join (4 relevant + k irrelevant, 4 evaluation tasks)", "irrelevant",
          "k", "irrelevant models in the pool");
  std::set<int> ks;
  for (const Row &r : rows)
    if (r.experiment == "irrelevant") ks.insert(r.x);
  for (int k : ks)
    if (k == *ks.begin() || k == *ks.rbegin())
      md += "### Per task, 4 relevant + " + std::to_string(k) +
            " irrelevant models: test accuracy (%)\n\n" +
            per_task_markdown(rows, "irrelevant", k, ends) + "\n";
  section("Relevant models join (evaluation on all 20 tasks)", "relevant", "n",
          "models in the pool (all relevant)");
  section("Ablation (pool of 20, 4 evaluation tasks)", "ablation", "x", "");
  std::ofstream(opt.out_dir + "/results.md") << md;
  std::printf("%s", md.c_str());
  return rows;
}

}  // namespace demo
