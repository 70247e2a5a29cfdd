// Package soak holds the fault soak test: a mixed workload run through the real client against the
// emulator with seeded faults, checked against an exact model of what the client acknowledged. It has
// no code of its own; run it with
//
//	go test -race -run TestFaultSoak -v ./internal/soak
//
// and add -soak.long (or set WORKERSKV_SOAK=long) for a run about ten times longer.
package soak
