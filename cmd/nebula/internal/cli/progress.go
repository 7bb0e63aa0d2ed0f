package cli

import (
	"fmt"
	"sync"
	"time"

	nebula "github.com/nebula-sdk/nebula-go"
)

// progress reports a long wait on stderr: one line per change when stderr
// is not a terminal (a log reads well), a live line redrawn every second
// when it is.
type progress struct {
	a     *App
	what  string
	start time.Time

	once   sync.Once
	mu     sync.Mutex
	state  string
	stop   chan struct{}
	doneCh chan struct{}
}

func (a *App) newProgress(what string) *progress {
	p := &progress{a: a, what: what, start: time.Now()}
	if a.StderrIsTerminal {
		p.stop, p.doneCh = make(chan struct{}), make(chan struct{})
		go p.tick()
	}
	return p
}

// set records a new state (an instance status, a byte count).
func (p *progress) set(state string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if state == p.state {
		return
	}
	p.state = state
	if p.stop != nil {
		p.drawLocked()
		return
	}
	fmt.Fprintf(p.a.Err, "%s: %s (%s)\n", p.what, state, p.elapsed())
}

// instance is a nebula.WithProgress callback.
func (p *progress) instance(in nebula.Instance) { p.set(string(in.Status)) }

func (p *progress) elapsed() time.Duration {
	return time.Since(p.start).Round(time.Second)
}

func (p *progress) drawLocked() {
	fmt.Fprintf(p.a.Err, "\r\x1b[K%s: %s  %s", p.what, p.state, p.elapsed())
}

func (p *progress) tick() {
	defer close(p.doneCh)
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			p.drawLocked()
			p.mu.Unlock()
		}
	}
}

// done ends the live line, so that what follows starts on a line of its
// own. Calls after the first do nothing.
func (p *progress) done() {
	if p.stop == nil {
		return
	}
	p.once.Do(p.finish)
}

func (p *progress) finish() {
	close(p.stop)
	<-p.doneCh
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drawLocked()
	fmt.Fprintln(p.a.Err)
}
