// The library's version as the core writes it into what it produces (export metadata, saved
// state, the data-free merge's recipe, a Hugging Face folder's model card). The core does not
// include the public header (CONTRIBUTING.md, layering), so it has its own copy of the number;
// lib/capi/errors.cpp static_asserts that it equals fwmerge.h's FW_VERSION_STRING, so a release
// that bumps one and not the other does not compile.
#pragma once

// A macro, not a constexpr string: data_free.cpp and hf_folder.cpp splice it into string literals.
#define FWMERGE_CORE_VERSION "0.5.0"
