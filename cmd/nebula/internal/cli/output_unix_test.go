//go:build unix

package cli

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// writeAtomic writes through a FIFO (or a device: /dev/null, /dev/full)
// rather than renaming a new file onto it, which replaced it, even a
// device when run as root.
func TestWriteAtomicWritesThroughAFIFO(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	// A second name for the FIFO, to release the reader should the first
	// be replaced.
	spare := filepath.Join(dir, "spare")
	if err := os.Link(fifo, spare); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	go func() {
		f, err := os.Open(fifo) // waits for a writer
		if err != nil {
			got <- err.Error()
			return
		}
		defer f.Close()
		data, _ := io.ReadAll(f)
		got <- string(data)
	}()
	err := writeAtomic(fifo, func(f *os.File) error {
		_, err := f.WriteString("through")
		return err
	})
	if fi, lerr := os.Lstat(fifo); lerr != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		if w, err := os.OpenFile(spare, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil { // fails at once if no reader waits
			w.Close()
		}
		var mode os.FileMode
		if fi != nil {
			mode = fi.Mode()
		}
		t.Fatalf("the FIFO was replaced (now %v, %v); writeAtomic: %v", mode, lerr, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if data := <-got; data != "through" {
		t.Fatalf("the reader got %q", data)
	}
}

// /dev/stdout leads through /proc to a pipe (or to the file the shell
// opened): it is written through. Followed as a link, it failed ("the link
// leads nowhere") for a pipe, and replaced the shell's file otherwise.
func TestWriteAtomicThroughDevStdout(t *testing.T) {
	t.Parallel()
	if err := checkWritable("/dev/stdout"); err != nil {
		t.Fatalf("checkWritable: %v", err)
	}
	if err := writeAtomic("/dev/stdout", func(f *os.File) error { return nil }); err != nil {
		t.Fatalf("writeAtomic: %v", err)
	}
}
