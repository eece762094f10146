// The Go worker of crossbench: serves go-cgo-token, go-cgo-batched and
// go-cgo-stream over the worker protocol (docs/protocol.md), driving the C++
// shim through cgo; `serve` runs a request trace through the shim's serving
// engine (serve*.go) for go-cgo-stream and go-cgo-token. Built by crossbench on first use (src/go_build.rs).
package main

/*
#include <stdlib.h>
#include "glue.h"
*/
import "C"

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
	"unsafe"
)

// MLX keeps streams per OS thread, and a goroutine may move between threads
// between two cgo calls: every MLX call of this worker is made from the main
// goroutine, locked to the main thread before main runs.
func init() { runtime.LockOSThread() }

// Go's monotonic clock, on the CLOCK_MONOTONIC timeline the driver and the
// other workers stamp with: one offset taken once at start.
var (
	monoBase = uint64(C.cbgo_now_ns())
	goBase   = time.Now()
)

func nowNs() uint64 { return monoBase + uint64(time.Since(goBase)) }

var shapes = map[string]shape{"go-cgo-token": perToken, "go-cgo-batched": batched, "go-cgo-stream": stream}

func main() {
	backend := flag.String("backend", "", "go-cgo-token | go-cgo-batched | go-cgo-stream")
	modelDir := flag.String("model", "", "mlx-community model directory")
	device := flag.String("device", "cpu", "cpu | gpu")
	flag.Parse()
	sh, ok := shapes[*backend]
	if !ok || *modelDir == "" {
		fmt.Fprintf(os.Stderr, "usage: crossbench-go-worker --backend go-cgo-token|go-cgo-batched|go-cgo-stream --model DIR [--device cpu|gpu]\n")
		os.Exit(2)
	}
	w := &worker{backend: *backend, shape: sh, out: os.Stdout}
	if err := w.load(*modelDir, *device); err != nil {
		w.emit(errorLine(err.code, err.message))
		os.Exit(2)
	}
	w.serve(bufio.NewScanner(os.Stdin))
}

type worker struct {
	backend string
	shape   shape
	model   *C.cb_model
	out     *os.File
}

func (w *worker) load(dir, device string) *genError {
	if os.Getenv("CROSSBENCH_DETOKENIZE") == "1" {
		return &genError{"CB_ERR_LOAD", w.backend + " has no detokenizer: a scenario whose consumer detokenizes (stream100) would give it less work than the others"}
	}
	cdev, cdir := C.CString(device), C.CString(dir)
	defer C.free(unsafe.Pointer(cdev))
	defer C.free(unsafe.Pointer(cdir))
	if s := C.cb_set_device(cdev); s != C.CB_OK {
		return shimError(s)
	}
	t0 := nowNs()
	if s := C.cb_model_load(cdir, &w.model); s != C.CB_OK {
		e := shimError(s)
		e.code = "CB_ERR_LOAD"
		return e
	}
	loadNs := nowNs() - t0
	w.emit(fmt.Sprintf(`{"ev":"loaded","device":"%s","load_ns":%d,"peak_rss_bytes":%d,"t_ns":%d}`,
		C.GoString(C.cb_default_device()), loadNs, peakRSSBytes(), nowNs()))
	return nil
}

func (w *worker) serve(in *bufio.Scanner) {
	in.Buffer(make([]byte, 1<<20), 1<<30)
	for in.Scan() {
		line := strings.TrimSpace(in.Text())
		if line == "" {
			continue
		}
		words := strings.Fields(line)
		switch words[0] {
		case "quit":
			return
		case "generate":
			r, err := parseGenerate(words[1:])
			if err != nil {
				w.emit(errorLine("CB_ERR_PROTOCOL", fmt.Sprintf("%s in `%s`", err, line)))
				continue
			}
			w.out.Write(w.generate(r))
		case "serve":
			w.serveRequest(line)
		case "serve_open": // the pipe designs' verb (docs/protocol.md)
			w.emit(errorLine("CB_ERR_UNSUPPORTED", "this worker serves from a trace file (`serve trace=PATH`), not over its pipe (`serve_open`)"))
		default:
			w.emit(errorLine("CB_ERR_PROTOCOL", fmt.Sprintf("unknown request `%s` (expected `generate`, `serve`, `serve_open` or `quit`) in `%s`", words[0], line)))
		}
	}
}

func (w *worker) emit(line string) { w.out.Write([]byte(line + "\n")) }

func errorLine(code, msg string) string {
	quoted, _ := json.Marshal(msg) // a string always marshals
	return fmt.Sprintf(`{"ev":"error","code":"%s","message":%s}`, code, quoted)
}
