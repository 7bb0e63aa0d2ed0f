//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import (
	"bufio"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// isTerminal says whether fd is a terminal: whether it has terminal
// attributes.
func isTerminal(fd uintptr) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, ioctlGetTermios, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

// readPassword reads one line from the terminal f with echo off, and turns
// echo back on even when the read fails.
func readPassword(f *os.File) (string, error) {
	fd := f.Fd()
	var old syscall.Termios
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, ioctlGetTermios, uintptr(unsafe.Pointer(&old))); errno != 0 {
		return "", errno
	}
	// Ctrl-C (or a hang-up, a kill) at the prompt would end the process
	// before the deferred restore runs, leaving the terminal without
	// echo: catch it (from before echo goes off), turn echo back on, and
	// let the signal end the process as it would have. mu orders the two:
	// echo never goes off after the handler restored it.
	var mu sync.Mutex
	restore := func() { syscall.Syscall(syscall.SYS_IOCTL, fd, ioctlSetTermios, uintptr(unsafe.Pointer(&old))) }
	die := func(sig os.Signal) {
		mu.Lock() // held: the process ends with it
		restore()
		signal.Reset(sig)
		syscall.Kill(syscall.Getpid(), sig.(syscall.Signal))
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	done := make(chan struct{})
	defer func() {
		signal.Stop(sigs)
		close(done)
		select {
		case sig := <-sigs: // came as the read ended: it still ends the process
			die(sig)
		default:
		}
	}()
	go func() {
		select {
		case sig := <-sigs:
			die(sig)
		case <-done:
		}
	}()
	quiet := old
	quiet.Lflag &^= syscall.ECHO
	quiet.Lflag |= syscall.ICANON | syscall.ISIG
	mu.Lock()
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, ioctlSetTermios, uintptr(unsafe.Pointer(&quiet)))
	mu.Unlock()
	if errno != 0 {
		return "", errno
	}
	defer func() {
		mu.Lock()
		restore()
		mu.Unlock()
	}()
	line, err := bufio.NewReader(io.LimitReader(f, 64<<10)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
