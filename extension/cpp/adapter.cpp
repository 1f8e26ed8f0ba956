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
	default:
		throw IOException(message);
	}
}

BindingPtr AdoptBinding(VgiBinding *binding) {
	return BindingPtr(binding, RustDeleter<VgiBinding, vgi_binding_free>());
}

} // namespace vgi
