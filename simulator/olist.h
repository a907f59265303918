#pragma once
// `orderpulse-sim olist`: converts the public Olist Brazilian e-commerce dataset into orderpulse
// events (one per order item), plus a catalog with synthesized stock, plus a report counting
// every input row that could not be used, by file and reason.

#include <string>

#include "output.h"

namespace orderpulse::sim {

struct OlistOptions {
  std::string dir;
  std::string out;
  std::string products;     // empty: <dir>/olist_products_dataset.csv
  std::string catalog_out;  // empty: catalog.csv next to --out (current dir when --out is -)
  OutputFormat format = OutputFormat::ndjson;
};

// Writes the events, the catalog and (when --out is a file) <out>.report.json; returns the
// one-line JSON report. Throws UsageError / RunFailure.
std::string run_olist(const OlistOptions& options);

}  // namespace orderpulse::sim
