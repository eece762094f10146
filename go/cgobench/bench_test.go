package cgobench

// crossbench's Go microbenchmarks: every cgo claim of the design note beside
// its in-Go twin. Run by `crossbench gobench` (go test -bench . -count N),
// collected into results/microbench.json with a 95% interval per benchmark.

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

var sink int64

// The note: "Regular Go function call: ~1-2 nanoseconds".
func BenchmarkGoCall(b *testing.B) {
	for b.Loop() {
		GoNoop(1)
	}
}

// The note: "Each CGO call costs ~50-200 nanoseconds".
func BenchmarkCgoCall(b *testing.B) {
	for b.Loop() {
		CgoNoop(1)
	}
}

func BenchmarkCgoCallParallel(b *testing.B) {
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			CgoNoop(1)
		}
	})
}

// Callbacks into Go per op, from one cgo call: on the goroutine's own
// (Go-created) thread, and from a C++ thread the shim starts (after that
// thread's first callback, amortised over b.N).
func BenchmarkCallback(b *testing.B) {
	b.Run("go_thread", func(b *testing.B) { sink = GoCallbacks(b.N) })
	b.Run("foreign_thread", func(b *testing.B) { sink = GoCallbacksNewThread(b.N) })
}

// A new C++ thread making one callback, into Go and into C: the difference is
// what the first callback from a thread Go has never seen costs.
func BenchmarkNewThreadFirstCallback(b *testing.B) {
	b.Run("into_go", func(b *testing.B) {
		for b.Loop() {
			GoCallbacksNewThread(1)
		}
	})
	b.Run("into_c", func(b *testing.B) {
		for b.Loop() {
			CCallbacksNewThread(1)
		}
	})
}

const floats1MiB = 1 << 18 // 1 MiB of float32

// The note's §3: 1 MB handed to C one cgo call per element, by one copying
// call, or lent by pointer; Go's own copy as the twin of the copying call.
func BenchmarkFloatHandoff1MiB(b *testing.B) {
	src := make([]float32, floats1MiB)
	for i := range src {
		src[i] = float32(i)
	}
	dst := NewCBuffer(floats1MiB)
	defer dst.Free()
	goDst := make([]float32, floats1MiB)
	b.Run("per_element_call", func(b *testing.B) {
		for b.Loop() {
			dst.SetEach(src)
		}
	})
	b.Run("bulk_copy_call", func(b *testing.B) {
		for b.Loop() {
			dst.CopyAll(src)
		}
	})
	b.Run("pointer_no_copy", func(b *testing.B) {
		for b.Loop() {
			Borrow(src)
		}
	})
	b.Run("go_copy", func(b *testing.B) {
		for b.Loop() {
			copy(goDst, src)
		}
	})
}

// gen100's prompt, as the note's Generate() passes it (C.CString) and as a
// borrowed pointer + length.
const gen100Prompt = "Explain in plain words why the sky looks blue on a clear day and red at sunset."

func BenchmarkPrompt(b *testing.B) {
	bytes := []byte(gen100Prompt)
	b.Run("cstring_alloc_copy", func(b *testing.B) {
		for b.Loop() {
			PromptCString(gen100Prompt)
		}
	})
	b.Run("bytes_len", func(b *testing.B) {
		for b.Loop() {
			PromptBytes(bytes)
		}
	})
}

// The note's §2: "CGO calls lock the calling goroutine to an OS thread ...
// ~1-2 microseconds per call". What locking costs, and a cgo call made
// while locked (as the worker driving MLX makes every call).
func BenchmarkLockOSThread(b *testing.B) {
	b.Run("lock_unlock", func(b *testing.B) {
		for b.Loop() {
			runtime.LockOSThread()
			runtime.UnlockOSThread()
		}
	})
	b.Run("cgo_call_locked", func(b *testing.B) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for b.Loop() {
			CgoNoop(1)
		}
	})
}

// The scheduling claim: a cgo call, and its Go twin, while 2×GOMAXPROCS other
// goroutines are runnable (each spins, yielding to the scheduler).
func BenchmarkBusyScheduler(b *testing.B) {
	b.Run("cgo_call", func(b *testing.B) { withRunnable(b, func() { CgoNoop(1) }) })
	b.Run("go_call", func(b *testing.B) { withRunnable(b, func() { GoNoop(1) }) })
}

func withRunnable(b *testing.B, call func()) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 2 * runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				runtime.Gosched()
			}
		}()
	}
	for b.Loop() {
		call()
	}
	stop.Store(true)
	wg.Wait()
}
