package kernels

import (
	"io"
	"sync/atomic"
	"testing"
	"time"
)

func TestAsyncRunsBesideTheCaller(t *testing.T) {
	p := Parallel(Generic{}, 2)
	defer p.(io.Closer).Close()
	a := p.(Async)
	var started, release atomic.Bool
	ran := 0
	task := func() {
		started.Store(true)
		for !release.Load() {
		}
		ran++
	}
	if !a.Go(task) {
		t.Fatal("Go on an idle pool reported no free helper")
	}
	// The task waits for the caller: it can only finish if it runs on
	// another goroutine while the caller is here.
	deadline := time.Now().Add(10 * time.Second)
	for !started.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the task did not start on a helper within 10 s")
		}
	}
	if a.Go(func() {}) {
		t.Fatal("a second Go before Wait was accepted")
	}
	release.Store(true)
	a.Wait()
	if ran != 1 {
		t.Fatalf("task ran %d times", ran)
	}
	// The pool is free again.
	if !a.Go(func() { ran++ }) {
		t.Fatal("Go after Wait reported no free helper")
	}
	a.Wait()
	if ran != 2 {
		t.Fatalf("task ran %d times", ran)
	}
}

func TestAsyncWithoutHelpersRunsInWait(t *testing.T) {
	pb := newIdleParallel(Generic{}, 2, defaultSplit) // no helper goroutines
	defer pb.Close()
	ran := false
	if !pb.Go(func() { ran = true }) {
		t.Fatal("Go refused")
	}
	pb.Wait()
	if !ran {
		t.Fatal("Wait returned before the task ran")
	}
}

func TestAsyncPanicReachesWait(t *testing.T) {
	p := Parallel(Generic{}, 2)
	defer p.(io.Closer).Close()
	a := p.(Async)
	a.Go(func() { panic("task failed") })
	func() {
		defer func() {
			if r := recover(); r != "task failed" {
				t.Fatalf("Wait raised %v", r)
			}
		}()
		a.Wait()
	}()
	ran := false
	if !a.Go(func() { ran = true }) {
		t.Fatal("the pool stayed busy after a panicking task")
	}
	a.Wait()
	if !ran {
		t.Fatal("task did not run")
	}
}

func TestAsyncAfterClose(t *testing.T) {
	p := Parallel(Generic{}, 2)
	p.(io.Closer).Close()
	if p.(Async).Go(func() {}) {
		t.Fatal("Go after Close was accepted")
	}
}

func TestAsyncNoAllocs(t *testing.T) {
	p := Parallel(Generic{}, 2)
	defer p.(io.Closer).Close()
	a := p.(Async)
	n := 0
	task := func() { n++ }
	if allocs := testing.AllocsPerRun(50, func() {
		if a.Go(task) {
			a.Wait()
		}
	}); allocs >= 1 {
		t.Fatalf("%v allocations per Go and Wait", allocs)
	}
}
