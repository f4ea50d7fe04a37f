package fwmerge

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// The binding's constants are checked against fwmerge.h: through SWIG's constants (generated from
// the header at build time) and, for completeness, against the header's text.
func TestEnumsMatchHeader(t *testing.T) {
	statuses := map[string]Status{
		"FW_OK": StatusOK, "FW_ERR_INVALID_ARGUMENT": StatusInvalidArgument, "FW_ERR_IO": StatusIO,
		"FW_ERR_FORMAT": StatusFormat, "FW_ERR_SHAPE_MISMATCH": StatusShapeMismatch,
		"FW_ERR_DTYPE_MISMATCH": StatusDTypeMismatch, "FW_ERR_NAME_MISMATCH": StatusNameMismatch,
		"FW_ERR_CALLBACK": StatusCallback, "FW_ERR_NON_FINITE": StatusNonFinite,
		"FW_ERR_OUT_OF_MEMORY": StatusOutOfMemory, "FW_ERR_ABORTED": StatusAborted,
		"FW_ERR_STATE": StatusState, "FW_ERR_UNSUPPORTED": StatusUnsupported, "FW_ERR_INTERNAL": StatusInternal,
	}
	swigStatus := map[string]swigfw.Fw_status{
		"FW_OK": swigfw.FW_OK, "FW_ERR_INVALID_ARGUMENT": swigfw.FW_ERR_INVALID_ARGUMENT,
		"FW_ERR_IO": swigfw.FW_ERR_IO, "FW_ERR_FORMAT": swigfw.FW_ERR_FORMAT,
		"FW_ERR_SHAPE_MISMATCH": swigfw.FW_ERR_SHAPE_MISMATCH, "FW_ERR_DTYPE_MISMATCH": swigfw.FW_ERR_DTYPE_MISMATCH,
		"FW_ERR_NAME_MISMATCH": swigfw.FW_ERR_NAME_MISMATCH, "FW_ERR_CALLBACK": swigfw.FW_ERR_CALLBACK,
		"FW_ERR_NON_FINITE": swigfw.FW_ERR_NON_FINITE, "FW_ERR_OUT_OF_MEMORY": swigfw.FW_ERR_OUT_OF_MEMORY,
		"FW_ERR_ABORTED": swigfw.FW_ERR_ABORTED, "FW_ERR_STATE": swigfw.FW_ERR_STATE,
		"FW_ERR_UNSUPPORTED": swigfw.FW_ERR_UNSUPPORTED, "FW_ERR_INTERNAL": swigfw.FW_ERR_INTERNAL,
	}
	for name, s := range statuses {
		if Status(swigStatus[name]) != s || s.String() != name {
			t.Errorf("%s: Go %d (%s), header %d", name, s, s, swigStatus[name])
		}
	}
	dtypes := map[string]DType{
		"FW_DTYPE_DEFAULT": DTypeDefault, "FW_DTYPE_F32": DTypeF32, "FW_DTYPE_F16": DTypeF16,
		"FW_DTYPE_BF16": DTypeBF16, "FW_DTYPE_F64": DTypeF64, "FW_DTYPE_I64": DTypeI64,
		"FW_DTYPE_I32": DTypeI32, "FW_DTYPE_I16": DTypeI16, "FW_DTYPE_I8": DTypeI8, "FW_DTYPE_U8": DTypeU8,
		"FW_DTYPE_BOOL": DTypeBool, "FW_DTYPE_U16": DTypeU16, "FW_DTYPE_U32": DTypeU32, "FW_DTYPE_U64": DTypeU64,
	}
	swigDType := map[string]swigfw.Fw_dtype{
		"FW_DTYPE_DEFAULT": swigfw.FW_DTYPE_DEFAULT, "FW_DTYPE_F32": swigfw.FW_DTYPE_F32,
		"FW_DTYPE_F16": swigfw.FW_DTYPE_F16, "FW_DTYPE_BF16": swigfw.FW_DTYPE_BF16,
		"FW_DTYPE_F64": swigfw.FW_DTYPE_F64, "FW_DTYPE_I64": swigfw.FW_DTYPE_I64,
		"FW_DTYPE_I32": swigfw.FW_DTYPE_I32, "FW_DTYPE_I16": swigfw.FW_DTYPE_I16,
		"FW_DTYPE_I8": swigfw.FW_DTYPE_I8, "FW_DTYPE_U8": swigfw.FW_DTYPE_U8,
		"FW_DTYPE_BOOL": swigfw.FW_DTYPE_BOOL, "FW_DTYPE_U16": swigfw.FW_DTYPE_U16,
		"FW_DTYPE_U32": swigfw.FW_DTYPE_U32, "FW_DTYPE_U64": swigfw.FW_DTYPE_U64,
	}
	for name, d := range dtypes {
		if DType(swigDType[name]) != d {
			t.Errorf("%s: Go %d, header %d", name, d, swigDType[name])
		}
	}
	methods := map[string]MergeMethod{
		"FW_MERGE_METHOD_LINEAR": MergeLinear, "FW_MERGE_METHOD_TASK_ARITHMETIC": MergeTaskArithmetic,
		"FW_MERGE_METHOD_TIES": MergeTIES, "FW_MERGE_METHOD_DARE_LINEAR": MergeDARELinear, "FW_MERGE_METHOD_DARE_TIES": MergeDARETIES,
		"FW_MERGE_METHOD_BREADCRUMBS": MergeBreadcrumbs, "FW_MERGE_METHOD_MODEL_STOCK": MergeModelStock,
		"FW_MERGE_METHOD_BREADCRUMBS_TIES": MergeBreadcrumbsTIES, "FW_MERGE_METHOD_SLERP": MergeSlerp,
		"FW_MERGE_METHOD_NUSLERP": MergeNuslerp, "FW_MERGE_METHOD_MULTISLERP": MergeMultislerp,
		"FW_MERGE_METHOD_KARCHER": MergeKarcher, "FW_MERGE_METHOD_NEARSWAP": MergeNearswap,
		"FW_MERGE_METHOD_ARCEE_FUSION": MergeArceeFusion, "FW_MERGE_METHOD_PASSTHROUGH": MergePassthrough,
		"FW_MERGE_METHOD_DELLA": MergeDELLA, "FW_MERGE_METHOD_DELLA_LINEAR": MergeDELLALinear,
		"FW_MERGE_METHOD_SCE": MergeSCE, "FW_MERGE_METHOD_RAM": MergeRAM, "FW_MERGE_METHOD_RAMPLUS_TL": MergeRAMPlusTL,
		"FW_MERGE_METHOD_TSV_M": MergeTSVM, "FW_MERGE_METHOD_ISO_C": MergeIsoC, "FW_MERGE_METHOD_ISO_CTS": MergeIsoCTS,
	}
	swigMethod := map[string]swigfw.Fw_merge_method{
		"FW_MERGE_METHOD_LINEAR": swigfw.FW_MERGE_METHOD_LINEAR, "FW_MERGE_METHOD_TASK_ARITHMETIC": swigfw.FW_MERGE_METHOD_TASK_ARITHMETIC,
		"FW_MERGE_METHOD_TIES": swigfw.FW_MERGE_METHOD_TIES, "FW_MERGE_METHOD_DARE_LINEAR": swigfw.FW_MERGE_METHOD_DARE_LINEAR,
		"FW_MERGE_METHOD_DARE_TIES": swigfw.FW_MERGE_METHOD_DARE_TIES, "FW_MERGE_METHOD_BREADCRUMBS": swigfw.FW_MERGE_METHOD_BREADCRUMBS,
		"FW_MERGE_METHOD_MODEL_STOCK": swigfw.FW_MERGE_METHOD_MODEL_STOCK, "FW_MERGE_METHOD_BREADCRUMBS_TIES": swigfw.FW_MERGE_METHOD_BREADCRUMBS_TIES,
		"FW_MERGE_METHOD_SLERP": swigfw.FW_MERGE_METHOD_SLERP, "FW_MERGE_METHOD_NUSLERP": swigfw.FW_MERGE_METHOD_NUSLERP,
		"FW_MERGE_METHOD_MULTISLERP": swigfw.FW_MERGE_METHOD_MULTISLERP, "FW_MERGE_METHOD_KARCHER": swigfw.FW_MERGE_METHOD_KARCHER,
		"FW_MERGE_METHOD_NEARSWAP": swigfw.FW_MERGE_METHOD_NEARSWAP, "FW_MERGE_METHOD_ARCEE_FUSION": swigfw.FW_MERGE_METHOD_ARCEE_FUSION,
		"FW_MERGE_METHOD_PASSTHROUGH": swigfw.FW_MERGE_METHOD_PASSTHROUGH, "FW_MERGE_METHOD_DELLA": swigfw.FW_MERGE_METHOD_DELLA,
		"FW_MERGE_METHOD_DELLA_LINEAR": swigfw.FW_MERGE_METHOD_DELLA_LINEAR, "FW_MERGE_METHOD_SCE": swigfw.FW_MERGE_METHOD_SCE,
		"FW_MERGE_METHOD_RAM": swigfw.FW_MERGE_METHOD_RAM, "FW_MERGE_METHOD_RAMPLUS_TL": swigfw.FW_MERGE_METHOD_RAMPLUS_TL,
		"FW_MERGE_METHOD_TSV_M": swigfw.FW_MERGE_METHOD_TSV_M, "FW_MERGE_METHOD_ISO_C": swigfw.FW_MERGE_METHOD_ISO_C,
		"FW_MERGE_METHOD_ISO_CTS": swigfw.FW_MERGE_METHOD_ISO_CTS,
	}
	for name, m := range methods {
		if MergeMethod(swigMethod[name]) != m {
			t.Errorf("%s: Go %d, header %d", name, m, swigMethod[name])
		}
	}
	if LogDebug != LogLevel(swigfw.FW_LOG_LEVEL_DEBUG) || LogInfo != LogLevel(swigfw.FW_LOG_LEVEL_INFO) ||
		LogWarn != LogLevel(swigfw.FW_LOG_LEVEL_WARN) {
		t.Error("LogLevel differs from fw_log_level")
	}
	if DeviceCPU != DeviceType(swigfw.FW_DEVICE_TYPE_CPU) || DeviceCUDA != DeviceType(swigfw.FW_DEVICE_TYPE_CUDA) {
		t.Error("DeviceType differs from fw_device_type")
	}
	if FieldWeight != MergeField(swigfw.FW_MERGE_FIELD_WEIGHT) || FieldDensity != MergeField(swigfw.FW_MERGE_FIELD_DENSITY) ||
		FieldBeta != MergeField(swigfw.FW_MERGE_FIELD_BETA) || FieldScaling != MergeField(swigfw.FW_MERGE_FIELD_SCALING) ||
		FieldEpsilon != MergeField(swigfw.FW_MERGE_FIELD_EPSILON) || FieldScale != MergeField(swigfw.FW_MERGE_FIELD_SCALE) ||
		FieldT != MergeField(swigfw.FW_MERGE_FIELD_T) {
		t.Error("MergeField differs from fw_merge_field")
	}

	// Completeness: every enumerator of these enums in the header has a Go constant.
	text, err := os.ReadFile("../../include/fwmerge.h")
	if err != nil {
		t.Skipf("fwmerge.h not found next to the binding: %v", err)
	}
	re := regexp.MustCompile(`(?m)^\s*(FW_(?:OK|ERR_\w+|DTYPE_\w+|MERGE_METHOD_\w+))\s*=\s*(-?\d+)`)
	for _, m := range re.FindAllStringSubmatch(string(text), -1) {
		name := m[1]
		value, _ := strconv.Atoi(m[2])
		var got, ok = 0, false
		if s, found := statuses[name]; found {
			got, ok = int(s), true
		} else if d, found := dtypes[name]; found {
			got, ok = int(d), true
		} else if mm, found := methods[name]; found {
			got, ok = int(mm), true
		}
		if !ok || got != value {
			t.Errorf("fwmerge.h: %s = %d; Go binding: %d (defined: %v)", name, value, got, ok)
		}
	}
}

func TestVersionCheck(t *testing.T) {
	if VersionNumber() != HeaderVersionNumber() && checkVersion(VersionNumber(), HeaderVersionNumber()) != nil {
		t.Fatal("the package loaded with an incompatible library")
	}
	if err := checkVersion(301, 301); err != nil {
		t.Error(err)
	}
	if err := checkVersion(305, 301); err != nil {
		t.Errorf("a later patch release was refused: %v", err)
	}
	for _, lib := range []uint{300, 401, 10301} {
		if err := checkVersion(lib, 301); err == nil {
			t.Errorf("library %d accepted for header 301", lib)
		}
	}
}

func TestProcessWideSettings(t *testing.T) {
	if err := SetTorchThreads(1); err != nil {
		t.Fatal(err)
	}
	if err := SetTorchThreads(0); !errors.Is(err, StatusInvalidArgument) {
		t.Errorf("SetTorchThreads(0) = %v", err)
	}
	if err := SetMallocMmapThreshold(1 << 20); err != nil && !errors.Is(err, StatusUnsupported) {
		t.Errorf("SetMallocMmapThreshold(1 MiB) = %v", err)
	}
}
