package stack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

const (
	tailBytes  = 16 << 10
	termGrace  = 2 * time.Second
	killGrace  = 3 * time.Second
	waitDelay  = 2 * time.Second
	stopSignal = syscall.SIGTERM
)

// proc is one server child process, in its own process group so that Close
// reaches anything it forks.
type proc struct {
	name   string
	cmd    *exec.Cmd
	out    *tail
	exited chan struct{}
	err    error // set before exited is closed
}

func newProc(name, path string, args, env []string, dir string, log io.Writer) *proc {
	p := &proc{name: name, out: &tail{}, exited: make(chan struct{})}
	cmd := exec.Command(path, args...)
	cmd.Dir = dir
	cmd.Env = env
	var w io.Writer = p.out
	if log != nil {
		w = io.MultiWriter(p.out, &prefixWriter{w: log, prefix: "[" + name + "] "})
	}
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.WaitDelay = waitDelay
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid: true,
		// If the harness dies without calling Close (a test timeout panics),
		// the kernel still takes the servers down.
		Pdeathsig: syscall.SIGKILL,
	}
	p.cmd = cmd
	return p
}

// start launches the process through startFn (which may switch network
// namespace first) and begins waiting for it.
func (p *proc) start(startFn func(func() error) error) error {
	if err := startFn(p.cmd.Start); err != nil {
		return fmt.Errorf("starting %s: %w", p.name, err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.exited)
	}()
	return nil
}

func (p *proc) pid() int {
	if p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// stop sends SIGTERM to the process group, then SIGKILL after a grace
// period, and waits (bounded) for the process to be reaped.
func (p *proc) stop() error {
	if p.cmd.Process == nil {
		return nil
	}
	pgid := p.cmd.Process.Pid
	select {
	case <-p.exited:
		// The leader is gone; still sweep the group for stragglers.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return nil
	default:
	}
	_ = syscall.Kill(-pgid, stopSignal)
	select {
	case <-p.exited:
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return nil
	case <-time.After(termGrace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	select {
	case <-p.exited:
		return nil
	case <-time.After(killGrace):
		return fmt.Errorf("%s (pid %d) did not exit after SIGKILL", p.name, pgid)
	}
}

// failure describes an unexpected exit, with the server's last output.
func (p *proc) failure() error {
	return fmt.Errorf("%s exited: %v\n%s", p.name, p.err, p.out.String())
}

// tail keeps the last tailBytes of a stream.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - tailBytes; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return "--- last output ---\n" + string(bytes.TrimSpace(t.buf)) + "\n--- end ---"
}

// prefixWriter prefixes every line written to w, so the interleaved output
// of several servers stays readable. Writes from different servers share w,
// hence the lock on the shared destination rather than on the writer.
type prefixWriter struct {
	w       io.Writer
	prefix  string
	midLine bool
}

var logMu sync.Mutex

func (p *prefixWriter) Write(b []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		if !p.midLine {
			out.WriteString(p.prefix)
		}
		out.Write(line)
		p.midLine = line[len(line)-1] != '\n'
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

var errTimeout = errors.New("timed out")
