// Command eensim is the EEN v1 API simulator.
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
	os.Exit(app.Exit("eensim", app.WithHealthcheck(app.RunSim, app.SimProbe)(ctx, app.Env{Args: os.Args[1:], Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr}), os.Stderr))
}
