package nebula

import "strings"

// InstanceStatus is an instance's status as the API writes it. The
// constants below are the statuses the docs name; a status the API sends
// that is none of them passes through unchanged. Compare statuses with Is,
// since the API's capitalisation is not documented as stable.
type InstanceStatus string

// The statuses of an instance's life (see the status table of
// docs/instances.md, "Statuses and waiting").
const (
	StatusCreating  InstanceStatus = "Creating"
	StatusStarting  InstanceStatus = "Starting"
	StatusRunning   InstanceStatus = "Running"
	StatusStopping  InstanceStatus = "Stopping"
	StatusStopped   InstanceStatus = "Stopped"
	StatusRebooting InstanceStatus = "Rebooting"
	StatusDeleting  InstanceStatus = "Deleting"
	StatusDeleted   InstanceStatus = "Deleted"
	StatusError     InstanceStatus = "Error"
)

// knownStatuses are the constants, the statuses Wait accepts.
var knownStatuses = []InstanceStatus{
	StatusCreating, StatusStarting, StatusRunning, StatusStopping, StatusStopped,
	StatusRebooting, StatusDeleting, StatusDeleted, StatusError,
}

// Active reports whether an instance with this status still exists for its
// owner: any status but Deleting and Deleted (compared case-insensitively).
// An active instance holds its name and may cost money.
func (s InstanceStatus) Active() bool {
	return !s.Is(StatusDeleting) && !s.Is(StatusDeleted)
}

// Is reports whether s and t are the same status, ignoring case.
func (s InstanceStatus) Is(t InstanceStatus) bool {
	return strings.EqualFold(string(s), string(t))
}

// known returns the constant s names (ignoring case), and whether it names one.
func (s InstanceStatus) known() (InstanceStatus, bool) {
	for _, k := range knownStatuses {
		if s.Is(k) {
			return k, true
		}
	}
	return s, false
}
