package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() { os.Exit(runMain()) }

// runMain runs the command line of the process and returns its exit status.
func runMain() int {
	// The first Ctrl-C (or SIGTERM) cancels ctx: a running job stops, reports what it did, and the
	// command exits. Once ctx is done the signals get their default action back, so a second Ctrl-C
	// ends the process at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	return run(ctx, os.Args[1:], streams{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv})
}
