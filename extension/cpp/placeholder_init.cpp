#include "duckdb.hpp"
extern "C" void vgi_adapter_init(duckdb::ExtensionLoader &loader) {}
