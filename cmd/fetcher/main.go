// Command fetcher is the camrelay fetcher worker; "fetcher connect" signs a
// v3 cluster in to EEN once, "fetcher healthcheck" asks a running one.
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
	os.Exit(app.Exit("fetcher", app.WithHealthcheck(app.RunFetcher, app.FetcherProbe)(ctx, app.Env{Args: os.Args[1:], Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr}), os.Stderr))
}
