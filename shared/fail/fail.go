// Package fail classifies errors so that entrypoints can map them to exit codes
// and CI front doors can say what kind of failure happened, without parsing text.
package fail

import (
	"errors"
	"fmt"
	"io/fs"
)

// Class is the kind of a failure.
type Class int

const (
	// Internal is any error that was not classified: a bug or an unexpected condition.
	Internal Class = iota
	// Config means the inputs, files or environment are wrong; the user must change something.
	Config
	// Verification means a signature, identity or digest did not verify.
	Verification
	// Transient means a network service failed or timed out; a rerun may succeed.
	Transient
)

func (c Class) String() string {
	switch c {
	case Config:
		return "configuration error"
	case Verification:
		return "verification failed"
	case Transient:
		return "service unavailable"
	default:
		return "internal error"
	}
}

// ExitCode is the process exit code for the class: 1 verification failed,
// 2 configuration error, 3 service unavailable, 4 internal error.
func (c Class) ExitCode() int {
	switch c {
	case Verification:
		return 1
	case Config:
		return 2
	case Transient:
		return 3
	default:
		return 4
	}
}

// Error carries a class and the underlying error.
type Error struct {
	Class Class
	Err   error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func wrap(c Class, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Class: c, Err: err}
}

// Configf returns a configuration error built like fmt.Errorf.
func Configf(format string, args ...any) error { return wrap(Config, fmt.Errorf(format, args...)) }

// Verificationf returns a verification failure built like fmt.Errorf.
func Verificationf(format string, args ...any) error {
	return wrap(Verification, fmt.Errorf(format, args...))
}

// Transientf returns a transient failure built like fmt.Errorf.
func Transientf(format string, args ...any) error {
	return wrap(Transient, fmt.Errorf(format, args...))
}

// As marks err with class c unless it already carries a class.
func As(c Class, err error) error {
	if err == nil {
		return nil
	}
	var fe *Error
	if errors.As(err, &fe) {
		return err
	}
	return wrap(c, err)
}

// ClassOf returns the class of the outermost classified error in err's chain.
func ClassOf(err error) Class {
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Class
	}
	return Internal
}

// PathCause returns the operating system's reason inside a path error ("no
// such file or directory"), for messages that already name the path; other
// errors are returned as they are.
func PathCause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
