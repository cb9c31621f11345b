package stack

import (
	"context"
	"io"
	"net"
	"sync"
	"time"
)

const dialTimeout = 5 * time.Second

// forwarder relays TCP connections accepted on a loopback listener of the
// caller's network namespace to the same port inside the stack's namespace.
// Keeping the port number identical keeps every URL (and Rekor's checkpoint
// origin) the same on both sides.
type forwarder struct {
	ln     net.Listener
	target string
	dial   func(ctx context.Context, addr string) (net.Conn, error)

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func newForwarder(ln net.Listener, target string, dial func(context.Context, string) (net.Conn, error)) *forwarder {
	f := &forwarder{ln: ln, target: target, dial: dial, conns: make(map[net.Conn]struct{})}
	f.wg.Add(1)
	go f.serve()
	return f
}

func (f *forwarder) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if f.isClosed() {
				return
			}
			// Transient (for example EMFILE): back off briefly; the loop ends
			// when close shuts the listener.
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if !f.track(c) {
			return
		}
		f.wg.Add(1)
		go f.relay(c)
	}
}

func (f *forwarder) relay(down net.Conn) {
	defer f.wg.Done()
	defer f.untrack(down)
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	up, err := f.dial(ctx, f.target)
	cancel()
	if err != nil {
		return
	}
	if !f.track(up) {
		return
	}
	defer f.untrack(up)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(up, down)
		closeWrite(up)
	}()
	_, _ = io.Copy(down, up)
	closeWrite(down)
	<-done
}

func closeWrite(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
}

func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

func (f *forwarder) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

func (f *forwarder) close() {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.ln.Close()
	f.wg.Wait()
}
