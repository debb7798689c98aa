package main

import (
	"context"
	"errors"
	"io"
)

func runSoak(ctx context.Context, out io.Writer, o options) error {
	return errors.New("soak: not built yet")
}
