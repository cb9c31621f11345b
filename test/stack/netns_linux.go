//go:build linux

package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"

	"golang.org/x/sys/unix"
)

// netns is a private network namespace holding only a loopback interface.
// The servers run inside it, so listeners they open on all interfaces (the
// timestamp server's fixed :2112, Fulcio's metrics port) are reachable only
// through loopback, and several stacks can run side by side.
//
// Go cannot move a whole process between network namespaces, but a single
// OS thread can: run pins a goroutine to its thread, switches that thread,
// and everything the goroutine creates there — sockets, forked children —
// belongs to the namespace.
type netns struct {
	orig int // the caller's namespace
	ns   int
}

func newNetns() (*netns, error) {
	type result struct {
		n   *netns
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("opening current network namespace: %w", err)}
			return
		}
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			unix.Close(orig)
			runtime.UnlockOSThread()
			ch <- result{err: fmt.Errorf("unshare(CLONE_NEWNET): %w", err)}
			return
		}
		ns, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == nil {
			err = loopbackUp()
			if err != nil {
				unix.Close(ns)
			}
		}
		if rerr := unix.Setns(orig, unix.CLONE_NEWNET); rerr != nil {
			// The thread is stuck in the new namespace; exiting while still
			// locked makes the runtime discard it.
			if err == nil {
				unix.Close(ns)
			}
			unix.Close(orig)
			ch <- result{err: fmt.Errorf("returning to the original network namespace: %w", rerr)}
			return
		}
		runtime.UnlockOSThread()
		if err != nil {
			unix.Close(orig)
			ch <- result{err: err}
			return
		}
		ch <- result{n: &netns{orig: orig, ns: ns}}
	}()
	r := <-ch
	return r.n, r.err
}

// loopbackUp sets the IFF_UP flag on lo in the current thread's namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up lo: %w", err)
	}
	return nil
}

// run calls fn on a thread switched into the namespace.
func (n *netns) run(fn func() error) error {
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(n.ns, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			ch <- fmt.Errorf("entering the stack's network namespace: %w", err)
			return
		}
		err := fn()
		if rerr := unix.Setns(n.orig, unix.CLONE_NEWNET); rerr != nil {
			// Leave the thread locked: the runtime discards it on exit.
			ch <- errors.Join(err, fmt.Errorf("leaving the stack's network namespace: %w", rerr))
			return
		}
		runtime.UnlockOSThread()
		ch <- err
	}()
	return <-ch
}

// dial connects to addr inside the namespace. The socket is created on the
// switched thread, so it stays in the namespace afterwards.
func (n *netns) dial(ctx context.Context, addr string) (net.Conn, error) {
	var c net.Conn
	err := n.run(func() error {
		var d net.Dialer
		var err error
		c, err = d.DialContext(ctx, "tcp", addr)
		return err
	})
	return c, err
}

func (n *netns) listen(addr string) (net.Listener, error) {
	var ln net.Listener
	err := n.run(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	return ln, err
}

func (n *netns) close() error {
	return errors.Join(unix.Close(n.ns), unix.Close(n.orig))
}
