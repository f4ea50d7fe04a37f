package fwmerge

import (
	"fmt"
	"runtime"

	"fwmerge/internal/swigfw"
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
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Status, e.Message) }

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

// Version returns the library's version ("0.3.1").
func Version() string { return swigfw.Fw_version() }
