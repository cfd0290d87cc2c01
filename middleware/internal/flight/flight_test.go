package flight

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDoDeduplicates(t *testing.T) {
	var g Group[int]
	var calls atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make([]int, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, _, err := g.Do(context.Background(), "k", func(context.Context) (int, error) {
				calls.Add(1)
				<-release
				return 42, nil
			})
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		}()
	}
	time.Sleep(20 * time.Millisecond) // let the goroutines join the call; not a correctness wait
	close(release)
	wg.Wait()
	if n := calls.Load(); n < 1 || n > 20 {
		t.Fatalf("calls = %d", n)
	}
	for _, v := range results {
		if v != 42 {
			t.Fatalf("result %d, want 42", v)
		}
	}
}

func TestCallerCancelDoesNotCancelCall(t *testing.T) {
	var g Group[string]
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	finish := make(chan struct{})
	got := make(chan error, 1)
	go func() {
		_, _, err := g.Do(ctx, "k", func(c context.Context) (string, error) {
			close(started)
			<-finish
			return "v", c.Err()
		})
		got <- err
	}()
	<-started
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	done := make(chan error, 1)
	go func() {
		v, shared, err := g.Do(context.Background(), "k", func(context.Context) (string, error) { return "new", nil })
		if v != "v" && v != "new" {
			t.Errorf("v = %q (shared %v)", v, shared)
		}
		done <- err
	}()
	close(finish)
	if err := <-done; err != nil {
		t.Fatalf("detached call saw %v", err)
	}
}
