package cli

// The few SDK calls whose shape changes with the SDK's amended API live here.

import (
	"context"
	"errors"

	nebula "github.com/nebula-sdk/nebula-go"
)

type instStatus = nebula.InstanceStatus

const (
	statusCreating  = nebula.StatusCreating
	statusStarting  = nebula.StatusStarting
	statusRunning   = nebula.StatusRunning
	statusStopping  = nebula.StatusStopping
	statusStopped   = nebula.StatusStopped
	statusRebooting = nebula.StatusRebooting
	statusDeleting  = nebula.StatusDeleting
	statusDeleted   = nebula.StatusDeleted
	statusError     = nebula.StatusError
)

func sdkVersion() string { return nebula.Version }

// createInstance creates an instance, reporting its first status to prog
// (nil: no progress).
func createInstance(ctx context.Context, client *nebula.Client, req nebula.CreateInstanceRequest, prog *progress) (*nebula.Instance, error) {
	var opts []nebula.CallOption
	if prog != nil {
		opts = append(opts, nebula.WithProgress(prog.instance))
	}
	in, err := client.Instances.Create(ctx, req, opts...)
	if err == nil && prog != nil {
		prog.set(string(in.Status))
	}
	return in, err
}

// waitInstance waits for status st, reporting each status seen to prog. It
// returns (nil, nil) when waiting for Deleted ends with the instance gone.
func waitInstance(ctx context.Context, client *nebula.Client, id nebula.ID, st instStatus, prog *progress) (*nebula.Instance, error) {
	in, err := client.Instances.Wait(ctx, id, st, nebula.WithProgress(prog.instance))
	if st == statusDeleted && err != nil && isNotFound(err) {
		return nil, nil
	}
	if err == nil && in != nil {
		prog.set(string(in.Status))
	}
	if err == nil && st == statusDeleted {
		return nil, nil
	}
	return in, err
}

func isNotFound(err error) bool {
	return errors.Is(err, nebula.ErrNotFound)
}
