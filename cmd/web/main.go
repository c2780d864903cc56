// Command web is the camrelay web replica.
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
	os.Exit(app.Exit("web", app.WithHealthcheck(app.RunWeb, app.WebProbe)(ctx, app.Env{Args: os.Args[1:], Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr}), os.Stderr))
}
