package main

import (
	"context"
	"errors"
	"io"
)

func runCrash(ctx context.Context, out io.Writer, o options) error {
	return errors.New("crash: not built yet")
}

func childEngine(ctx context.Context) error { return errors.New("not built yet") }
