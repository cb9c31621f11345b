//go:build !linux

package stack

import (
	"context"
	"errors"
	"net"
)

type netns struct{}

func newNetns() (*netns, error) {
	return nil, errors.New("private network namespaces need Linux")
}

func (*netns) run(fn func() error) error { return errors.New("no network namespace") }

func (*netns) dial(context.Context, string) (net.Conn, error) {
	return nil, errors.New("no network namespace")
}

func (*netns) listen(string) (net.Listener, error) { return nil, errors.New("no network namespace") }

func (*netns) close() error { return nil }
