package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPTY opens a pseudo-terminal: its controller and the terminal end.
func openPTY(t *testing.T) (controller, term *os.File) {
	t.Helper()
	controller, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { controller.Close() })
	var unlock int32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, controller.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); errno != 0 {
		t.Fatal(errno)
	}
	var n uint32
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, controller.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); errno != 0 {
		t.Fatal(errno)
	}
	term, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { term.Close() })
	return controller, term
}

func echoOn(t *testing.T, term *os.File) bool {
	t.Helper()
	var tio syscall.Termios
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, term.Fd(), ioctlGetTermios, uintptr(unsafe.Pointer(&tio))); errno != 0 {
		t.Fatal(errno)
	}
	return tio.Lflag&syscall.ECHO != 0
}

// Ctrl-C at the key prompt ends the process as before, by the signal, but
// with echo back on: the deferred restore never ran, and the terminal was
// left without echo. The prompt runs in a child process (this test binary
// again), since the signal ends it.
func TestReadPasswordRestoresEchoOnInterrupt(t *testing.T) {
	if os.Getenv("NEBULA_TEST_READ_PASSWORD") == "1" {
		readPassword(os.Stdin)
		os.Exit(0)
	}
	t.Parallel()
	_, term := openPTY(t)
	if !echoOn(t, term) {
		t.Fatal("a new terminal without echo")
	}
	child := exec.Command(os.Args[0], "-test.run=^TestReadPasswordRestoresEchoOnInterrupt$")
	child.Env = append(os.Environ(), "NEBULA_TEST_READ_PASSWORD=1")
	child.Stdin = term
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	// The prompt has begun when echo goes off.
	deadline := time.Now().Add(10 * time.Second)
	for echoOn(t, term) {
		if time.Now().After(deadline) {
			child.Process.Kill()
			t.Fatal("echo never went off")
		}
		time.Sleep(time.Millisecond)
	}
	child.Process.Signal(os.Interrupt)
	err := child.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Errorf("the prompt ended with %v, want the interrupt", err)
	}
	if !echoOn(t, term) {
		t.Fatal("the terminal was left without echo")
	}
}
