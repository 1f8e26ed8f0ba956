#include "adapter.hpp"

namespace vgi {
using namespace duckdb;

void ThrowIfError(VgiError *error) {
	if (!error) {
		return;
	}
	auto kind = vgi_error_kind(error);
	string message = vgi_error_message(error);
	vgi_error_free(error);
	switch (kind) {
	case VGI_ERROR_INVALID_INPUT:
		throw InvalidInputException(message);
	case VGI_ERROR_BINDER:
		throw BinderException(message);
	case VGI_ERROR_CATALOG:
		throw CatalogException(message);
	case VGI_ERROR_NOT_IMPLEMENTED:
		throw NotImplementedException(message);
	case VGI_ERROR_INTERRUPT:
		throw InterruptException();
	case VGI_ERROR_INTERNAL:
		throw InternalException(message);
	case VGI_ERROR_PERMISSION:
		throw PermissionException(message);
	default:
		throw IOException(message);
	}
}

void ReadLocationPolicy(ClientContext &context, bool &external_access, string &allowed_locations) {
	Value external, allowed;
	external_access = !context.TryGetCurrentSetting("enable_external_access", external) || external.IsNull() ||
	                  external.GetValue<bool>();
	allowed_locations.clear();
	if (context.TryGetCurrentSetting("vgi_allowed_locations", allowed) && !allowed.IsNull()) {
		allowed_locations = allowed.ToString();
	}
}

void CheckLocationAllowed(ClientContext &context, const char *what, const string &location) {
	bool external;
	string allowed;
	ReadLocationPolicy(context, external, allowed);
	ThrowIfError(vgi_check_location(what, location.c_str(), external, allowed.c_str()));
}

BindingPtr AdoptBinding(VgiBinding *binding) {
	return BindingPtr(binding, RustDeleter<VgiBinding, vgi_binding_free>());
}

} // namespace vgi
