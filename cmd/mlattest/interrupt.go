package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// interruptSignals end a command early: the first one cancels its context,
// so that it stops where it checks and removes what it wrote on the way out
// (exit 128+N, see exitInterrupted); a second one gets the default action.
var interruptSignals = []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP}

// ownSignalsAnnotation marks a command that handles signals itself
// (mlattest run relays them to the command it wraps).
const ownSignalsAnnotation = "mlattest.signals"

// interruptedError is the cancellation cause of a command's context when
// a signal interrupted it.
type interruptedError struct{ sig os.Signal }

func (e *interruptedError) Error() string {
	if name, ok := signalNames[e.sig]; ok {
		return "interrupted (" + name + ")"
	}
	return fmt.Sprintf("interrupted (%v)", e.sig)
}

var signalNames = map[os.Signal]string{os.Interrupt: "SIGINT", syscall.SIGTERM: "SIGTERM", syscall.SIGHUP: "SIGHUP"}

// onInterrupt returns ctx cancelled by the first of interruptSignals, with
// an *interruptedError cause, and the function that stops listening. A
// command still running interruptGrace later is ended by exit (given the
// exit code and the cause), unless stop was called: some waits (a
// passphrase prompt) do not watch the context, and Ctrl-C must end them.
func onInterrupt(ctx context.Context, exit func(code int, cause error)) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, interruptSignals...)
	var mu sync.Mutex
	stopped := false
	stop := make(chan struct{})
	go func() {
		select {
		case sig := <-sigs:
			// Back to the default action: a second signal ends the process
			// at once, should the command not stop.
			signal.Stop(sigs)
			cancel(&interruptedError{sig})
			time.AfterFunc(interruptGrace, func() {
				mu.Lock() // held for good: exit does not return
				if !stopped {
					code, _ := exitInterrupted(ctx)
					exit(code, context.Cause(ctx))
				}
			})
		case <-stop:
		}
	}()
	return ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		signal.Stop(sigs)
		close(stop)
		cancel(nil)
	}
}

// exitInterrupted is the exit code of a command whose context a signal
// cancelled: 128+N as a shell reports a process killed by signal N; ok is
// false when no signal did.
func exitInterrupted(ctx context.Context) (code int, ok bool) {
	var ie *interruptedError
	if !errors.As(context.Cause(ctx), &ie) {
		return 0, false
	}
	return ie.exitCode(), true
}

// exitCode is 128+N for signal N.
func (e *interruptedError) exitCode() int {
	if s, isSys := e.sig.(syscall.Signal); isSys {
		return 128 + int(s)
	}
	return 128 + int(syscall.SIGINT)
}

// ownsSignals reports whether the command args name handles signals
// itself.
func ownsSignals(args []string) bool {
	c, _, err := newRootCmd().Find(args)
	return err == nil && c.Annotations[ownSignalsAnnotation] != ""
}
