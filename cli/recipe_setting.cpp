#include "recipe_setting.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace fwcli {

Setting Setting::read(const Reader &r, const YAML::Node &node, const std::string &key) {
  Setting s;
  s.line = node.Mark().line + 1;
  if (!node.IsSequence()) {
    s.number = r.number_of(node, key);
    return s;
  }
  if (node.size() == 0) r.fail(node, key + ": an empty list");
  if (node[0].IsMap()) {
    s.kind = Kind::kConditions;
    static const std::set<std::string> keys = {"filter", "value"};
    for (const YAML::Node &c : node) {
      if (!c.IsMap()) r.fail(c, key + ": each entry of a filter list is {filter, value}");
      r.only_keys(c, keys, key + "'s filter list");
      if (!c["value"]) r.fail(c, key + ": a filter entry needs `value`");
      Condition cond;
      if (c["filter"] && !c["filter"].IsNull()) cond.filter = r.string_of(c["filter"], "filter");
      cond.value = read(r, c["value"], key);
      s.conditions.push_back(std::move(cond));
    }
    return s;
  }
  s.kind = Kind::kGradient;
  for (const YAML::Node &v : node) {
    if (!v.IsScalar())
      r.fail(v, key + ": a gradient is a list of numbers (or give a list of {filter, value})");
    s.gradient.push_back(r.number_of(v, key));
  }
  return s;
}

std::optional<double> Setting::at(const std::string &name, double t) const {
  switch (kind) {
    case Kind::kNumber:
      return number;
    case Kind::kGradient: {
      // mergekit: scaled = t * (len - 1); interpolate between floor(scaled) and the next entry.
      const double scaled = t * static_cast<double>(gradient.size() - 1);
      const size_t i0 = static_cast<size_t>(scaled);
      const size_t i1 = std::min(gradient.size() - 1, i0 + 1);
      const double frac = scaled - static_cast<double>(i0);
      return (1 - frac) * gradient[i0] + frac * gradient[i1];
    }
    case Kind::kConditions:
      for (const Condition &c : conditions)
        if (c.filter.empty() || c.filter == "*" || name.find(c.filter) != std::string::npos)
          return c.value.at(name, t);
      return std::nullopt;
  }
  return std::nullopt;
}

std::vector<double> layer_positions(const std::vector<std::string> &names) {
  std::vector<long> layer(names.size(), -1);
  long layers = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    size_t begin = 0;
    while (begin <= names[i].size()) {
      const size_t end = std::min(names[i].find('.', begin), names[i].size());
      const std::string part = names[i].substr(begin, end - begin);
      if (!part.empty() && part.size() < 10 &&
          std::all_of(part.begin(), part.end(), [](unsigned char c) { return std::isdigit(c); })) {
        layer[i] = std::stol(part);
        layers = std::max(layers, layer[i] + 1);
        break;
      }
      begin = end + 1;
    }
  }
  std::vector<double> t(names.size(), 0.0);
  for (size_t i = 0; i < names.size(); ++i)
    if (layer[i] >= 0)
      t[i] = layers > 1 ? static_cast<double>(layer[i]) / static_cast<double>(layers - 1) : 1.0;
  return t;
}

}  // namespace fwcli
