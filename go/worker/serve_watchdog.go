package main

import (
	"fmt"
	"math"
	"time"
)

// stallGrace: how long a request's consumer may leave its last tokens
// unread after the engine sent them before the request ends as stalled (as
// ffi-batched's watchdog, src/backends/ffi_serve.rs). A full channel is the
// other sign of a stall (deliver); this one catches a consumer that stopped
// with fewer than channelCap tokens unread, which would otherwise never end
// and, in a closed loop, hold back every later request.
const stallGrace = 2 * time.Second

// watchdog is the dispatcher's: the requests the engine finished whose
// consumers had not ended when the dispatcher heard of it. It wakes only
// while one is watched.
type watchdog struct {
	watched []*serveReq
	timer   *time.Timer
}

func newWatchdog(n int) *watchdog {
	w := &watchdog{watched: make([]*serveReq, 0, n), timer: time.NewTimer(time.Hour)}
	w.timer.Stop()
	return w
}

func (w *watchdog) watch(r *serveReq) {
	if !r.ended.Load() {
		w.watched = append(w.watched, r)
	}
}

// wake is the channel to wait on: armed for the earliest deadline of the
// requests still not ended, nil when there are none.
func (w *watchdog) wake() <-chan time.Time {
	kept := w.watched[:0]
	earliest := uint64(math.MaxUint64)
	for _, r := range w.watched {
		if !r.ended.Load() {
			kept = append(kept, r)
			earliest = min(earliest, r.engineDoneNs.Load())
		}
	}
	if w.watched = kept; len(kept) == 0 {
		return nil
	}
	w.timer.Reset(time.Duration(int64(earliest) + int64(stallGrace) - int64(nowNs())))
	return w.timer.C
}

// check ends the watched requests whose grace is over (wake forgets them).
func (w *watchdog) check(s *server) {
	now := nowNs()
	for _, r := range w.watched {
		if !r.ended.Load() && now-r.engineDoneNs.Load() >= uint64(stallGrace) {
			s.end(r, fmt.Sprintf("consumer stalled: its last tokens unread %d s after the engine sent them",
				stallGrace/time.Second))
		}
	}
}
