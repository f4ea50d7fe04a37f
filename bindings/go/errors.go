package fwmerge

import (
	"fmt"
	"runtime"

	"github.com/fwmerge/fwmerge/bindings/go/internal/swigfw"
)

// Status is a library status code (fw_status). Status values are errors themselves, so
// errors.Is(err, fwmerge.StatusCallback) tells what kind of failure err is.
type Status int32

// The codes of fw_status; their numbers are part of the library's ABI.
const (
	StatusOK              Status = 0
	StatusInvalidArgument Status = -1
	StatusIO              Status = -2
	StatusFormat          Status = -3
	StatusShapeMismatch   Status = -4
	StatusDTypeMismatch   Status = -5
	StatusNameMismatch    Status = -6
	StatusCallback        Status = -7
	StatusNonFinite       Status = -8
	StatusOutOfMemory     Status = -9
	StatusAborted         Status = -10
	StatusState           Status = -11
	StatusUnsupported     Status = -12
	StatusInternal        Status = -13
)

// String returns the library's stable name of the code, e.g. "FW_ERR_FORMAT".
func (s Status) String() string { return swigfw.Fw_status_name(swigfw.Fw_status(s)) }

// Error makes a bare Status usable as an errors.Is target.
func (s Status) Error() string { return s.String() }

// Error is a failed library call: its status and the library's message (fw_last_error).
type Error struct {
	Status  Status
	Message string
	// Cause is what made the binding stop the call, when that was not the library: the
	// context's error for StepContext / RunContext / MergeContext (errors.Is(err,
	// context.Canceled) then holds), else nil.
	Cause error
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Status, e.Message) }

// Unwrap returns Cause.
func (e *Error) Unwrap() error { return e.Cause }

// Is reports whether target is this error's Status (errors.Is(err, fwmerge.StatusIO)).
func (e *Error) Is(target error) bool {
	s, ok := target.(Status)
	return ok && s == e.Status
}

// call runs one fallible library call and turns a failure into *Error. The goroutine stays on
// one OS thread from the call to fw_last_error(), which is thread-local in the library.
func call(f func() swigfw.Fw_status) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return statusError(f())
}

// statusError must run on the thread of the call that returned st.
func statusError(st swigfw.Fw_status) error {
	if st == 0 {
		return nil
	}
	return &Error{Status: Status(st), Message: swigfw.Fw_last_error()}
}

// Version returns the library's version ("0.5.0").
func Version() string { return swigfw.Fw_version() }

// VersionNumber returns the library's version number (fw_version_number: 500 for 0.5.0).
func VersionNumber() uint { return swigfw.Fw_version_number() }

// LibtorchVersion returns the version of the LibTorch the library was built against and loads
// (fw_libtorch_version: "1.13.0" for Debian's, "2.15.0+cu132" for a pip torch). A process holds
// one LibTorch: a host that loads its own (gotch) needs a libfwmerge built against that one.
func LibtorchVersion() string { return swigfw.Fw_libtorch_version() }

// HeaderVersionNumber returns the version number of the fwmerge.h this binding was compiled
// against (FW_VERSION_NUMBER).
func HeaderVersionNumber() uint { return swigfw.Header_version_number() }

// checkVersion refuses a library of another major.minor than the header (0.x minors change the
// ABI) or an older patch release than the header (patches only append).
func checkVersion(library, header uint) error {
	if library/100 != header/100 || library < header {
		return fmt.Errorf("fwmerge: the loaded libfwmerge is %s, but this binding was built against "+
			"fwmerge.h %s; it needs %s or a later %d.%d.x: rebuild the binding against the "+
			"installed library (PKG_CONFIG_PATH, LD_LIBRARY_PATH)",
			versionText(library), versionText(header), versionText(header), header/10000, header/100%100)
	}
	return nil
}

func versionText(n uint) string { return fmt.Sprintf("%d.%d.%d", n/10000, n/100%100, n%100) }

// The package refuses to start with an incompatible library: nothing could be called safely.
func init() {
	if err := checkVersion(VersionNumber(), HeaderVersionNumber()); err != nil {
		panic(err)
	}
}
