// Command camrelay is the camrelay: all-in-one (embedded Redis, simulated cameras, fetcher and web).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/camrelay/camrelay/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(app.Exit("camrelay", app.RunAll(ctx, app.Env{Args: os.Args[1:], Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}), os.Stderr))
}
