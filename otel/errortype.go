package nebulaotel

import (
	"context"
	"errors"
	"go/token"
	"io"
	"net/url"
	"reflect"
	"strconv"

	"github.com/nebula-sdk/nebula-go"
)

// namedErrors are sentinel values whose Go type (*errors.errorString) says
// nothing, so error.type names the value instead. The context's come first:
// a call the context ended ended for that reason, whatever the attempts
// before it answered.
var namedErrors = []struct {
	err  error
	name string
}{
	{context.Canceled, "context.Canceled"},
	{context.DeadlineExceeded, "context.DeadlineExceeded"},
	{io.ErrUnexpectedEOF, "io.ErrUnexpectedEOF"},
	{io.EOF, "io.EOF"},
	{nebula.ErrInvalidArgument, "nebula.ErrInvalidArgument"},
}

// errorType is the error.type of a failure: the HTTP status code when the
// API answered, else the Go type of the cause ("*net.OpError"), or the name
// of a well-known sentinel ("context.Canceled"). It never looks at the
// error's message, which can quote the API's answer.
func errorType(err error, status int) string {
	for _, n := range namedErrors[:2] {
		if errors.Is(err, n.err) {
			return n.name
		}
	}
	if apiErr, ok := errors.AsType[*nebula.APIError](err); ok {
		return strconv.Itoa(apiErr.HTTPStatus)
	}
	if status >= 300 {
		return strconv.Itoa(status)
	}
	for _, n := range namedErrors[2:] {
		if errors.Is(err, n.err) {
			return n.name
		}
	}
	if cause := firstCause(err); cause != nil {
		return reflect.TypeOf(cause).String()
	}
	return reflect.TypeOf(err).String()
}

var urlErrorType = reflect.TypeOf((*url.Error)(nil))

// firstCause walks err's tree, depth first, past the wrappers that only
// add context (*url.Error, and the unexported wrappers of fmt.Errorf,
// errors.Join and the SDK) and past nebula.ErrOutcomeUnknown, which the
// outcome_unknown attribute already reports, to the first error that says
// what went wrong.
func firstCause(err error) error {
	if err == nil || err == nebula.ErrOutcomeUnknown {
		return nil
	}
	var next []error
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		next = []error{u.Unwrap()}
	case interface{ Unwrap() []error }:
		next = u.Unwrap()
	}
	if next == nil || !isWrapper(reflect.TypeOf(err)) {
		return err
	}
	for _, e := range next {
		if c := firstCause(e); c != nil {
			return c
		}
	}
	return nil
}

// isWrapper says whether an error type that unwraps is only a wrapper:
// *url.Error, or an unexported type, whose name would mean nothing to a
// reader of a trace.
func isWrapper(t reflect.Type) bool {
	if t == urlErrorType {
		return true
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return !token.IsExported(t.Name())
}
