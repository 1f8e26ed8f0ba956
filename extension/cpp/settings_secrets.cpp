// Settings and secrets: what a worker declares at ATTACH becomes DuckDB options (`SET name =`)
// and secret types (`CREATE SECRET (TYPE name, ...)`); each bind then carries the current
// option values and can look up secrets (Rust: src/call_context.rs decides what to send).
#include "arrow_scan.hpp"
#include "catalog.hpp"

#include "duckdb/catalog/catalog_transaction.hpp"
#include "duckdb/common/arrow/arrow_converter.hpp"
#include "duckdb/common/arrow/schema_metadata.hpp"
#include "duckdb/main/config.hpp"
#include "duckdb/main/secret/secret.hpp"
#include "duckdb/main/secret/secret_manager.hpp"
#include "duckdb/transaction/transaction.hpp"

namespace vgi {
using namespace duckdb;

namespace {

// One Arrow row (a struct array) as DuckDB values, with the row's names and types.
struct ImportedRow {
	vector<string> names;
	vector<LogicalType> types;
	vector<Value> values;
};

ImportedRow ImportRow(ClientContext &context, ArrowSchema &schema, unique_ptr<ArrowArrayWrapper> array) {
	ImportedRow row;
	ArrowTableSchema table;
	ArrowTableFunction::PopulateArrowTableSchema(context, table, schema);
	row.types = table.GetTypes();
	for (auto &name : table.GetNames()) {
		row.names.push_back(name);
	}
	if (row.types.empty() || array->arrow_array.length < 1) {
		return row;
	}
	ArrowScanLocalState scan(std::move(array), context);
	DataChunk chunk;
	chunk.Initialize(Allocator::DefaultAllocator(), row.types, STANDARD_VECTOR_SIZE);
	chunk.SetChildCardinality(1);
	scan.chunk_offset = 0;
	ArrowTableFunction::ArrowToDuckDB(scan, table.GetColumns(), chunk, false);
	chunk.SetCardinality(1);
	for (idx_t c = 0; c < row.types.size(); c++) {
		row.values.push_back(chunk.GetValue(c, 0));
	}
	return row;
}

// The parameters each registered worker secret type redacts (shared by every database).
mutex redact_lock;
unordered_map<string, vector<string>> redacted_parameters;

unique_ptr<BaseSecret> CreateWorkerSecret(ClientContext &context, CreateSecretInput &input) {
	auto secret = make_uniq<KeyValueSecret>(input.scope, input.type, input.provider, input.name);
	for (auto &option : input.options) {
		secret->secret_map[Identifier(option.first)] = option.second;
	}
	lock_guard<mutex> guard(redact_lock);
	auto it = redacted_parameters.find(input.type.GetIdentifierName());
	if (it != redacted_parameters.end()) {
		for (auto &key : it->second) {
			secret->redact_keys.insert(Identifier(key));
		}
	}
	return std::move(secret);
}

bool SecretTypeExists(SecretManager &manager, const string &name) {
	try {
		manager.LookupType(name);
		return true;
	} catch (std::exception &) {
		return false;
	}
}

// VgiSecretLookup: DuckDB's best secret of `type` (by name when given, else by scope).
int32_t LookupSecret(void *context_p, const char *type, const char *scope, const char *name, ArrowSchema *out_schema,
                     ArrowArray *out) {
	auto &context = *static_cast<ClientContext *>(context_p);
	try {
		auto &manager = SecretManager::Get(context);
		auto transaction = CatalogTransaction::GetSystemCatalogTransaction(context);
		unique_ptr<SecretEntry> entry;
		if (name) {
			entry = manager.GetSecretByName(transaction, name);
		} else {
			auto match = manager.LookupSecret(transaction, scope ? scope : "", type);
			if (match.HasMatch()) {
				entry = std::move(match.secret_entry);
			}
		}
		if (!entry || !entry->secret || entry->secret->GetType().GetIdentifierName() != type) {
			return 0;
		}
		auto &secret = *entry->secret;
		vector<string> names {"name", "type", "scope"};
		vector<Value> values {Value(secret.GetName().GetIdentifierName()), Value(secret.GetType().GetIdentifierName()),
		                      Value(StringUtil::Join(secret.GetScope(), "\n"))};
		if (auto key_value = dynamic_cast<const KeyValueSecret *>(&secret)) {
			for (auto &item : key_value->secret_map) {
				names.push_back(item.first.GetIdentifierName());
				values.push_back(item.second);
			}
		}
		ExportRow(context, names, values, *out_schema, *out);
		return 1;
	} catch (std::exception &) {
		// Rust treats it as "no such secret"; the worker then says what it is missing.
		return 0;
	}
}

} // namespace

void RegisterWorkerSettingsAndSecrets(ClientContext &context, CatalogHandle &handle) {
	// Settings: DuckDB options named as the worker names them, with its defaults.
	ArrowSchemaWrapper schema;
	auto array = make_uniq<ArrowArrayWrapper>();
	ThrowIfError(vgi_catalog_settings(handle.rust, &schema.arrow_schema, &array->arrow_array));
	vector<string> descriptions;
	for (int64_t i = 0; i < schema.arrow_schema.n_children; i++) {
		auto child = schema.arrow_schema.children[i];
		auto metadata = ArrowSchemaMetadata(child->metadata);
		descriptions.push_back(metadata.GetOption("description"));
	}
	auto row = ImportRow(context, schema.arrow_schema, std::move(array));
	auto &config = DBConfig::GetConfig(context);
	for (idx_t i = 0; i < row.names.size(); i++) {
		handle.setting_names.push_back(row.names[i]);
		handle.setting_types.push_back(row.types[i]);
		if (!config.HasExtensionOption(Identifier(row.names[i]))) {
			auto default_value = i < row.values.size() ? row.values[i] : Value(row.types[i]);
			config.AddExtensionOption(Identifier(row.names[i]), descriptions[i], row.types[i], default_value);
		}
	}

	// Secret types: CREATE SECRET (TYPE <name>, <parameter> <value>, ...).
	VgiEntries *entries = nullptr;
	ThrowIfError(vgi_catalog_secret_types(handle.rust, &entries));
	auto &manager = SecretManager::Get(context);
	for (idx_t i = 0; i < vgi_entries_count(entries); i++) {
		string name = vgi_entries_name(entries, i);
		if (SecretTypeExists(manager, name)) {
			continue;
		}
		ArrowSchemaWrapper parameters;
		auto error = vgi_entries_columns(entries, i, &parameters.arrow_schema);
		if (error) {
			vgi_entries_free(entries);
			ThrowIfError(error);
		}
		ArrowTableSchema table;
		ArrowTableFunction::PopulateArrowTableSchema(context, table, parameters.arrow_schema);
		auto sql = vgi_entries_sql(entries, i);
		{
			lock_guard<mutex> guard(redact_lock);
			redacted_parameters[name] = sql && *sql ? StringUtil::Split(sql, '\x1f') : vector<string>();
		}
		SecretType type;
		type.name = Identifier(name);
		type.deserializer = KeyValueSecret::Deserialize<KeyValueSecret>;
		type.default_provider = "config";
		type.extension = "vgi";
		manager.RegisterSecretType(type);
		CreateSecretFunction function;
		function.secret_type = name;
		function.provider = "config";
		function.function = CreateWorkerSecret;
		auto types = table.GetTypes();
		auto names = table.GetNames();
		for (idx_t p = 0; p < names.size(); p++) {
			function.named_parameters[Identifier(names[p])] = types[p];
		}
		manager.RegisterSecretFunction(std::move(function), OnCreateConflict::IGNORE_ON_CONFLICT);
	}
	vgi_entries_free(entries);
}

std::unique_ptr<SessionCall> MakeSessionCall(ClientContext &context, const CatalogHandle &handle) {
	auto session = std::make_unique<SessionCall>();
	session->call.transaction = CurrentTransaction(context, handle);
	session->call.settings_schema = nullptr;
	session->call.settings = nullptr;
	if (!handle.setting_names.empty()) {
		vector<Value> values;
		for (idx_t i = 0; i < handle.setting_names.size(); i++) {
			Value value;
			if (context.TryGetCurrentSetting(Identifier(handle.setting_names[i]), value) && !value.IsNull()) {
				values.push_back(value.DefaultCastAs(handle.setting_types[i]));
			} else {
				values.push_back(Value(handle.setting_types[i]));
			}
		}
		ExportRow(context, handle.setting_names, values, session->settings_schema.arrow_schema,
		          session->settings.arrow_array);
		session->call.settings_schema = &session->settings_schema.arrow_schema;
		session->call.settings = &session->settings.arrow_array;
	}
	session->call.lookup_secret = LookupSecret;
	session->call.lookup_context = &context;
	return session;
}

} // namespace vgi
